import Testing

@testable import OrchestratorProtocol

/// The server's answers built directly give Codable's bytes, byte for byte.
@Suite("Direct messages")
struct DirectMessageTests {
    static let task = WorkflowTask(
        taskToken: "wt:1:5:1", workflowId: "incident-payment-api", runId: "r-1", workflowType: "Incident",
        taskQueue: "incidents", attempt: 1, previousStartedEventId: 3, startedEventId: 5,
        events: [
            HistoryEvent(
                eventId: 4, eventTime: Timestamp(milliseconds: 1_764_650_000_123),
                attributes: .workflowExecutionSignaled(
                    .init(signalName: "ack", input: ["responder": "alice"], identity: "cli", requestId: "q-1")))
        ],
        queries: nil)

    static let messages: [ServerMessage] = [
        .response(id: 1, .ping(Empty())),
        .response(id: 2, .signalWorkflow(SignalWorkflowResponse(runId: "r-\"1\""))),
        .response(id: 3, .startWorkflow(StartWorkflowResponse(runId: "r-1", started: true))),
        .response(id: 4, .signalWithStartWorkflow(StartWorkflowResponse(runId: "r-1", started: false))),
        .response(id: 5, .requestCancelWorkflow(RunResponse(runId: "r-1"))),
        .response(id: 6, .terminateWorkflow(RunResponse(runId: "r-1"))),
        .response(id: 7, .queryWorkflow(QueryWorkflowResponse(runId: "r-1", result: ["state": "OPEN", "n": 2.5]))),
        .response(id: 8, .queryWorkflow(QueryWorkflowResponse(runId: "r-1", result: nil))),
        .response(id: 9, .pollWorkflowTask(PollWorkflowTaskResponse(task: nil))),
        .response(id: 10, .pollWorkflowTask(PollWorkflowTaskResponse(task: task))),
        .response(id: 11, .completeWorkflowTask(CompleteWorkflowTaskResponse())),
        .response(id: 12, .completeWorkflowTask(CompleteWorkflowTaskResponse(workflowTask: task))),
        .response(id: 13, .completeActivityTask(Empty())),
        .response(id: 14, .failActivityTask(Empty())),
        .response(id: 15, .cancelActivityTask(Empty())),
        .response(id: 16, .failWorkflowTask(Empty())),
        .response(id: UInt64.max, .respondQuery(Empty())),
        .error(id: 17, OrchestratorError(.notFound, "no such workflow")),
        .response(
            id: 18,
            .completeWorkflowTask(
                CompleteWorkflowTaskResponse(workflowTask: task, activityTasks: [activity(optionals: true)]))),
        .response(
            id: 19,
            .completeWorkflowTask(
                CompleteWorkflowTaskResponse(activityTasks: [activity(optionals: false), activity(optionals: true)]))),
        .response(id: 20, .pollActivityTask(PollActivityTaskResponse(task: activity(optionals: true)))),
        .response(id: 21, .pollActivityTask(PollActivityTaskResponse(task: activity(optionals: false)))),
        .response(id: 22, .pollActivityTask(PollActivityTaskResponse(task: nil))),
        .response(
            id: 23,
            .awaitWorkflowResult(
                AwaitWorkflowResultResponse(
                    runId: "r-1", status: .completed, result: ["status": "RESOLVED", "alerts": ["A-1", "A-2"]],
                    failure: nil))),
        .response(
            id: 24,
            .awaitWorkflowResult(
                AwaitWorkflowResultResponse(runId: "r-1", status: .canceled, result: nil, failure: nil))),
        .response(
            id: 25,
            .awaitWorkflowResult(
                AwaitWorkflowResultResponse(
                    runId: "r-1", status: .failed, result: nil, failure: Failure(message: "boom", type: "E")))),
        .push(.workflowQuery(query(token: nil))),
        .push(.workflowQuery(query(token: "wt:1:5:1"))),
        .response(id: 26, .pollWorkflowTask(PollWorkflowTaskResponse(task: taskWithQueries))),
        .response(id: 27, .completeWorkflowTask(CompleteWorkflowTaskResponse(workflowTask: taskWithQueries))),
        .push(.workflowTask(taskWithQueries)),
        .push(.workflowTask(task)),
    ]

    /// The text of a value written directly.
    static func text(_ value: EncodedValue?) -> [UInt8]? {
        guard case .raw(let bytes)? = value else { return nil }
        return bytes
    }

    @Test("tasks, events and queries written directly are the bytes Codable writes for them alone")
    func directParts() throws {
        // Inside a message, the Codable path writes these parts directly too: compare each alone.
        // The server's events carry their attributes' bytes; timestamps are written in place for
        // years 0...9999 and in the general form outside them.
        var events = [Int64(1_764_650_000_123), 253_402_300_799_999, 400_000_000_000_000, -62_200_000_000_000]
            .enumerated().map { index, milliseconds in
                HistoryEvent(
                    eventId: Int64(index + 1), eventTime: Timestamp(milliseconds: milliseconds),
                    attributes: .workflowExecutionSignaled(
                        .init(signalName: "add-\"alert\"", input: ["alertID": "A-ü"], identity: nil, requestId: "r")))
            }
        #expect(events.allSatisfy { $0.directlyEncoded == nil }, "no attribute bytes: left to Codable")
        for index in events.indices {
            try events[index].encodeAttributesOnce()
            let direct = try #require(Self.text(events[index].directlyEncoded))
            #expect(direct == (try MessageCodec.encodeBytesThroughCodable(events[index])))
        }
        for task in [Self.task, Self.taskWithQueries] {
            let direct = try #require(Self.text(try task.directlyEncoded(by: ValueEncoder())))
            #expect(direct == (try MessageCodec.encodeBytesThroughCodable(task)))
        }
        for activity in [Self.activity(optionals: true), Self.activity(optionals: false)] {
            let direct = try activity.directlyEncoded().finish()
            #expect(direct == (try MessageCodec.encodeBytesThroughCodable(activity)))
        }
        for query in [Self.query(token: nil), Self.query(token: "wt:1:5:1")] {
            let direct = try query.directlyEncoded().finish()
            #expect(direct == (try MessageCodec.encodeBytesThroughCodable(query)))
        }
    }

    @Test("a payload that cannot be written fails the message directly as through Codable")
    func unwritablePayload() throws {
        let infinite: JSONValue = ["n": .double(.infinity)]
        var task = Self.task
        task.queries = [
            WorkflowQuery(
                queryId: "q", workflowId: "w", runId: "r", workflowType: "T", taskQueue: "q", queryType: "s",
                args: infinite, taskToken: nil)
        ]
        let messages: [ServerMessage] = [
            .response(id: 1, .queryWorkflow(QueryWorkflowResponse(runId: "r-1", result: infinite))),
            .response(id: 2, .pollWorkflowTask(PollWorkflowTaskResponse(task: task))),
        ]
        for message in messages {
            #expect(throws: EncodingError.self) { try MessageCodec.encodeBytes(message) }
            #expect(throws: EncodingError.self) { try MessageCodec.encodeBytesThroughCodable(message) }
        }
        let request = RequestMessage(
            id: 3, request: .signalWorkflow(SignalWorkflowRequest(workflowId: "w", signalName: "s", input: infinite)))
        #expect(throws: EncodingError.self) { try MessageCodec.encodeBytes(request) }
    }

    static func query(token: String?) -> WorkflowQuery {
        WorkflowQuery(
            queryId: "q-\"1\"", workflowId: "incident-ü", runId: "r-1", workflowType: "IncidentWorkflow",
            taskQueue: "incident-task-queue", queryType: "status",
            args: token == nil ? nil : ["verbose": true, "n": .null],
            taskToken: token)
    }

    static var taskWithQueries: WorkflowTask {
        var task = Self.task
        task.queries = [query(token: nil), query(token: "wt:1:5:1")]
        return task
    }

    /// An activity task with every optional member, or none.
    static func activity(optionals: Bool) -> ActivityTask {
        ActivityTask(
            taskToken: "at.1.7.2", workflowId: "incident-\"ü\"", runId: "r-1", workflowType: "Incident",
            activityId: "notify\n1", activityType: "NotifyIncident",
            input: optionals ? ["kind": "opened", "level": 0, "responder": .null] : nil, attempt: 2,
            scheduledTime: Timestamp(milliseconds: 1_764_650_000_123),
            currentAttemptScheduledTime: Timestamp(milliseconds: 1_764_650_001_000),
            startedTime: Timestamp(milliseconds: 1_764_650_001_007), scheduleToCloseTimeoutMs: optionals ? 60_000 : nil,
            startToCloseTimeoutMs: 10_000, heartbeatTimeoutMs: optionals ? 2_000 : nil,
            heartbeatDetails: optionals ? ["progress": [1, 2.5]] : nil)
    }

    @Test("each answer", arguments: messages)
    func answer(_ message: ServerMessage) throws {
        #expect(try MessageCodec.encodeBytes(message) == MessageCodec.encodeBytesThroughCodable(message))
    }

    @Test("the protocol's response vectors")
    func vectors() throws {
        var compared = 0
        for vector in Vectors.messages where vector.kind == "server" {
            let message = try MessageCodec.decodeServerMessage(from: Array(vector.json.utf8))
            #expect(try MessageCodec.encodeBytes(message) == Array(vector.json.utf8), "\(vector.name)")
            #expect(
                try MessageCodec.encodeBytesThroughCodable(message) == Array(vector.json.utf8), "\(vector.name)")
            compared += 1
        }
        #expect(compared > 5)
    }
}

/// Requests read directly are the requests Codable reads, and forms the direct reader does not
/// take go to Codable, errors included.
@Suite("Direct requests")
struct DirectRequestTests {
    /// Plain forms: the direct reader takes them.
    static let plain: [String] = [
        #"{"id":1,"op":"signalWorkflow","body":{"workflowId":"incident-a","signalName":"ack","input":{"responder":"alice","n":[1,2.5,null]},"requestId":"r-1","identity":"cli"}}"#,
        #"{"id":2,"op":"signalWorkflow","body":{"workflowId":"w","signalName":"s"}}"#,
        #"{"id":3,"op":"signalWorkflow","body":{"workflowId":"w","signalName":"s","runId":null,"input":null,"extra":{"x":1}}}"#,
        #"{"id":4,"op":"signalWorkflow","body":{"workflowId":"first","workflowId":"second","signalName":"s"}}"#,
        #"{"op":"queryWorkflow","id":5,"body":{"workflowId":"w","queryType":"status","args":[1],"timeoutMs":2000,"runId":"r"}}"#,
        #"{"id":6,"op":"queryWorkflow","body":{"workflowId":"w","queryType":"status"}}"#,
        #"{"id":7,"op":"awaitWorkflowResult","body":{"workflowId":"w","followRuns":false,"timeoutMs":5}}"#,
        #"{"id":8,"op":"pollWorkflowTask","body":{"taskQueue":"q","identity":"w-1","timeoutMs":60000,"answersQueriesInTasks":true}}"#,
        #"{"id":9,"op":"completeActivityTask","body":{"taskToken":"at:1:2:3","result":{"delivered":true},"identity":"w"}}"#,
        #"{"id":10,"op":"completeActivityTask","body":{"taskToken":"at:1:2:3"}}"#,
        #"{"id":11,"op":"respondQuery","body":{"queryId":"q1","result":{"state":"OPEN"}}}"#,
        #"{"id":12,"op":"respondQuery","body":{"queryId":"q1","failure":null}}"#,
        #"{"id":30,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"StartTimer","attributes":{"timerId":"e1","startToFireTimeoutMs":30000}},{"commandType":"CancelTimer","attributes":{"timerId":"e0"}},{"commandType":"ScheduleActivityTask","attributes":{"activityId":"n1","activityType":"Notify","input":{"kind":"opened"},"startToCloseTimeoutMs":10000,"retryPolicy":{"initialIntervalMs":200,"backoffCoefficient":1.5,"maximumAttempts":5},"requestEagerExecution":true,"taskQueue":null}},{"commandType":"CompleteWorkflowExecution","attributes":{"result":{"status":"RESOLVED"}}}],"identity":"w-1","stickyCache":true,"returnNewWorkflowTask":true,"queryResults":[{"queryId":"q1","result":"OPEN"}]}}"#,
        #"{"id":31,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[],"queryResults":null}}"#,
        #"{"id":32,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"ScheduleActivityTask","attributes":{"activityId":"n1","activityType":"Notify","retryPolicy":{"backoffCoefficient":2}}},{"commandType":"CompleteWorkflowExecution","attributes":{}}]}}"#,
        #"{"id":40,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"ScheduleActivityTask","attributes":{"activityId":"n1","activityType":"N","retryPolicy":{"nonRetryableErrorTypes":["Fatal","Bad \"input\""]}}}]}}"#,
        #"{"id":41,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"ScheduleActivityTask","attributes":{"activityId":"n1","activityType":"N","retryPolicy":{"nonRetryableErrorTypes":[]}}}]}}"#,
        #"{"id":42,"op":"startWorkflow","body":{"workflowId":"w","workflowType":"T","taskQueue":"q"}}"#,
        #"{"id":43,"op":"startWorkflow","body":{"identity":"cli","input":{"service":"payment-api","escalateAfterMs":30000},"requestId":"0190f5a2-7c1e-7b3a-9f00-1234567890ab","taskQueue":"incident-task-queue","workflowId":"incident-payment-api","workflowIdConflictPolicy":"USE_EXISTING","workflowIdReusePolicy":"REJECT_DUPLICATE","workflowTaskTimeoutMs":10000,"workflowType":"IncidentWorkflow","searchAttributes":null}}"#,
        // The parser reads integral numbers written with a fraction as integers.
        #"{"id":15.0,"op":"signalWorkflow","body":{"workflowId":"w","signalName":"s"}}"#,
        #"{"id":16,"op":"queryWorkflow","body":{"workflowId":"w","queryType":"q","timeoutMs":2000.0}}"#,
    ]

    /// Forms Codable reads (or rejects) on its own.
    static let unusual: [String] = [
        #"{"id":13,"op":"signalWorkflow","body":{"workflowId":"w"}}"#,
        #"{"id":14,"op":"signalWorkflow","body":{"workflowId":7,"signalName":"s"}}"#,
        #"{"id":17,"op":"queryWorkflow","body":{"workflowId":"w","queryType":"q","timeoutMs":"soon"}}"#,
        #"{"id":18,"op":"awaitWorkflowResult","body":{"workflowId":"w","followRuns":1}}"#,
        #"{"id":19,"op":"respondQuery","body":{"queryId":"q1","failure":{"message":"boom"}}}"#,
        #"{"id":20,"op":"pollWorkflowTask","body":{"taskQueue":"q","identity":3}}"#,
        #"{"id":21,"op":"completeActivityTask","body":null}"#,
        #"{"id":0,"op":"signalWorkflow","body":{"workflowId":"w","signalName":"s"}}"#,
        #"{"id":22,"op":"noSuchOperation","body":{}}"#,
        #"{"id":23,"op":"startWorkflow","body":{"workflowId":"w","workflowType":"T","taskQueue":"q","searchAttributes":{"service":"a"}}}"#,
        #"{"id":24,"op":"startWorkflow","body":{"workflowId":"w","workflowType":"T","taskQueue":"q","workflowIdReusePolicy":"SOMETIMES"}}"#,
        #"{"id":25,"op":"startWorkflow","body":{"workflowId":"w","workflowType":"T","taskQueue":"q","workflowTaskTimeoutMs":"5s"}}"#,
        #"{"id":26,"op":"startWorkflow","body":{"workflowId":"w","taskQueue":"q"}}"#,
        #"{"id":33,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"FailWorkflowExecution","attributes":{"failure":{"message":"boom"}}}]}}"#,
        #"{"id":34,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"StartTimer","attributes":{"timerId":"e1"}}]}}"#,
        #"{"id":35,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"ScheduleActivityTask","attributes":{"activityId":"n1","activityType":"N","retryPolicy":{"nonRetryableErrorTypes":["Fatal",1]}}}]}}"#,
        #"{"id":36,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"ScheduleActivityTask","attributes":{"activityId":"n1","activityType":"N","retryPolicy":{"maximumAttempts":4294967296}}}]}}"#,
        #"{"id":37,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[],"queryResults":[{"queryId":"q","failure":{"message":"x"}}]}}"#,
        #"{"id":38,"op":"completeWorkflowTask","body":{"taskToken":"wt:1","commands":[{"commandType":"NoSuchCommand","attributes":{}}]}}"#,
        #"{"id":39,"op":"completeWorkflowTask","body":{"taskToken":"wt:1"}}"#,
    ]

    static func throughCodable(_ text: String) -> Result<RequestMessage, RequestDecodingError> {
        Result {
            var depth = 0
            return try MessageCodec.decode(
                RequestMessage.self, from: try MessageCodec.parse(Array(text.utf8), deepest: &depth))
        }.mapError { error in
            (error as? RequestDecodingError) ?? .malformed("\(error)")
        }
    }

    static func decoded(_ text: String) -> Result<RequestMessage, RequestDecodingError> {
        Result { () throws(RequestDecodingError) -> RequestMessage in
            try MessageCodec.decodeRequest(from: Array(text.utf8))
        }
    }

    @Test("plain forms are read directly, as Codable reads them", arguments: plain)
    func plainForm(_ text: String) throws {
        #expect(try MessageCodec.withParsed(Array(text.utf8)) { root, _ in RequestMessage(directFrom: root) } != nil)
        #expect(Self.decoded(text) == Self.throughCodable(text))
    }

    @Test("other forms are left to Codable", arguments: unusual)
    func unusualForm(_ text: String) throws {
        #expect(try MessageCodec.withParsed(Array(text.utf8)) { root, _ in RequestMessage(directFrom: root) } == nil)
        #expect(Self.decoded(text) == Self.throughCodable(text))
    }
}

/// Requests built directly give Codable's bytes, byte for byte.
@Suite("Direct request encoding")
struct DirectRequestEncodingTests {
    static let commands: [Command] = [
        .startTimer(StartTimerCommand(timerId: "escalate-1", startToFireTimeoutMs: 30_000)),
        .cancelTimer(CancelTimerCommand(timerId: "escalate-1")),
        .scheduleActivityTask(
            ScheduleActivityTaskCommand(
                activityId: "notify-1", activityType: "Notify", input: ["kind": "opened", "level": 1],
                startToCloseTimeoutMs: 10_000, retryPolicy: RetryPolicy(initialIntervalMs: 200, backoffCoefficient: 2),
                requestEagerExecution: true)),
        .scheduleActivityTask(
            ScheduleActivityTaskCommand(
                activityId: "a", activityType: "T", taskQueue: "other", scheduleToCloseTimeoutMs: 60_000,
                heartbeatTimeoutMs: 1_000, retryPolicy: RetryPolicy(nonRetryableErrorTypes: ["Fatal"]))),
        .scheduleActivityTask(ScheduleActivityTaskCommand(activityId: "b", activityType: "T")),
        .completeWorkflowExecution(CompleteWorkflowExecutionCommand(result: ["status": "RESOLVED"])),
        .completeWorkflowExecution(CompleteWorkflowExecutionCommand(result: nil)),
        .failWorkflowExecution(FailWorkflowExecutionCommand(failure: Failure(message: "boom"))),
        .requestCancelActivityTask(RequestCancelActivityTaskCommand(scheduledEventId: 5)),
    ]

    static let requests: [RequestMessage] = [
        RequestMessage(
            id: 1,
            request: .signalWorkflow(
                SignalWorkflowRequest(
                    workflowId: "incident-a", runId: "r", signalName: "add-alert", input: ["alert": "ALERT-001"],
                    requestId: "req-1", identity: "cli"))),
        RequestMessage(id: 2, request: .signalWorkflow(SignalWorkflowRequest(workflowId: "w", signalName: "s"))),
        RequestMessage(
            id: 3,
            request: .queryWorkflow(
                QueryWorkflowRequest(workflowId: "w", runId: "r", queryType: "status", args: [1], timeoutMs: 5))),
        RequestMessage(id: 4, request: .queryWorkflow(QueryWorkflowRequest(workflowId: "w", queryType: "status"))),
        RequestMessage(
            id: 5,
            request: .awaitWorkflowResult(
                AwaitWorkflowResultRequest(workflowId: "w", runId: "r", followRuns: true, timeoutMs: 60_000))),
        RequestMessage(
            id: 6,
            request: .pollWorkflowTask(
                PollWorkflowTaskRequest(taskQueue: "q", identity: "w-1", timeoutMs: 60_000, answersQueriesInTasks: true)
            )),
        RequestMessage(
            id: 7,
            request: .completeActivityTask(
                CompleteActivityTaskRequest(taskToken: "at:1", result: ["ok": true], identity: "w"))),
        RequestMessage(id: 8, request: .respondQuery(RespondQueryRequest(queryId: "q1", result: ["state": "OPEN"]))),
        RequestMessage(
            id: 9,
            request: .respondQuery(RespondQueryRequest(queryId: "q1", failure: Failure(message: "no such query")))),
        RequestMessage(
            id: 10,
            request: .completeWorkflowTask(
                CompleteWorkflowTaskRequest(
                    taskToken: "wt:1", commands: commands, identity: "w-1", stickyCache: true,
                    returnNewWorkflowTask: true,
                    queryResults: [
                        RespondQueryRequest(queryId: "q1", result: "OPEN"),
                        RespondQueryRequest(queryId: "q2", failure: Failure(message: "unknown query")),
                    ]))),
        RequestMessage(
            id: 11, request: .completeWorkflowTask(CompleteWorkflowTaskRequest(taskToken: "wt:2", commands: []))),
        RequestMessage(
            id: UInt64.max,
            request: .startWorkflow(StartWorkflowRequest(workflowId: "w", workflowType: "T", taskQueue: "q"))),
        RequestMessage(
            id: 12,
            request: .startWorkflow(
                StartWorkflowRequest(
                    workflowId: "incident-payment-api", workflowType: "IncidentWorkflow",
                    taskQueue: "incident-task-queue",
                    input: ["service": "payment-api", "escalateAfterMs": 30_000], requestId: "r-1",
                    workflowIdReusePolicy: .allowDuplicateFailedOnly, workflowIdConflictPolicy: .terminateExisting,
                    workflowTaskTimeoutMs: 5_000, identity: "cli \"1\""))),
        RequestMessage(
            id: 13,
            request: .startWorkflow(
                StartWorkflowRequest(
                    workflowId: "w", workflowType: "T", taskQueue: "q", searchAttributes: ["service": "a", "level": 2]))
        ),
    ]

    @Test("each request", arguments: requests)
    func request(_ message: RequestMessage) throws {
        #expect(try MessageCodec.encodeBytes(message) == MessageCodec.encodeBytesThroughCodable(message))
    }

    @Test("the protocol's request vectors")
    func vectors() throws {
        var compared = 0
        for vector in Vectors.messages where vector.kind == "request" {
            let message = try MessageCodec.decodeRequest(from: Array(vector.json.utf8))
            #expect(try MessageCodec.encodeBytes(message) == Array(vector.json.utf8), "\(vector.name)")
            compared += 1
        }
        #expect(compared > 5)
    }
}

/// The server's messages read directly are the messages Codable reads.
@Suite("Direct answer reading")
struct DirectAnswerReadingTests {
    static let activity = ActivityTask(
        taskToken: "at:1:7:1", workflowId: "incident-a", runId: "r-1", workflowType: "Incident", activityId: "notify-1",
        activityType: "Notify", input: ["kind": "opened"], attempt: 1,
        scheduledTime: Timestamp(milliseconds: 1_764_650_000_123),
        currentAttemptScheduledTime: Timestamp(milliseconds: 1_764_650_000_123),
        startedTime: Timestamp(milliseconds: 1_764_650_000_200), scheduleToCloseTimeoutMs: nil,
        startToCloseTimeoutMs: 10_000, heartbeatTimeoutMs: 2_000, heartbeatDetails: nil)

    static let messages: [ServerMessage] =
        DirectMessageTests.messages + [
            .response(
                id: 20,
                .completeWorkflowTask(
                    CompleteWorkflowTaskResponse(workflowTask: DirectMessageTests.task, activityTasks: [activity]))),
            .response(id: 21, .pollActivityTask(PollActivityTaskResponse(task: activity))),
            .response(id: 22, .pollActivityTask(PollActivityTaskResponse(task: nil))),
            .push(
                .workflowQuery(
                    WorkflowQuery(
                        queryId: "q1", workflowId: "w", runId: "r", workflowType: "T", taskQueue: "q",
                        queryType: "status", args: [1, "two"]))),
        ]

    static func throughCodable(_ bytes: [UInt8]) throws -> ServerMessage {
        var depth = 0
        return try MessageCodec.decode(ServerMessage.self, from: MessageCodec.parse(bytes, deepest: &depth))
    }

    @Test("each answer and push", arguments: messages)
    func message(_ message: ServerMessage) throws {
        let bytes = try MessageCodec.encodeBytes(message)
        let readDirectly = try MessageCodec.withParsed(bytes) { root, _ in ServerMessage(directFrom: root) } != nil
        switch message {
        case .error, .response(id: UInt64.max, _): #expect(!readDirectly)  // an id beyond Int64 parses as unsigned
        case .response(_, .awaitWorkflowResult(let result)) where result.failure != nil: #expect(!readDirectly)
        default: #expect(readDirectly)
        }
        let direct = try MessageCodec.decodeServerMessage(from: bytes)
        #expect(direct == message)
        #expect(direct == (try Self.throughCodable(bytes)))
    }

    @Test("the protocol's server vectors")
    func vectors() throws {
        for vector in Vectors.messages where vector.kind == "server" {
            let bytes = Array(vector.json.utf8)
            #expect(
                try MessageCodec.decodeServerMessage(from: bytes) == (try Self.throughCodable(bytes)), "\(vector.name)")
        }
    }

    @Test(
        "other forms are left to Codable",
        arguments: [
            #"{"id":1,"op":"signalWorkflow","result":{"runId":5}}"#,
            #"{"id":1,"op":"startWorkflow","result":{"runId":"r"}}"#,
            #"{"id":1,"op":"signalWorkflow","error":{"code":"NOT_FOUND","message":"gone"}}"#,
            #"{"push":"somethingNew","body":{}}"#,
            #"{"push":"workflowTask","body":{"taskToken":"t"}}"#,
            #"{"push":null,"id":1,"op":"ping","result":{}}"#,
            #"{"id":1,"op":"pollActivityTask","result":{"task":{"taskToken":"t"}}}"#,
            #"{"id":1,"op":"describeWorkflow","result":{}}"#,
        ])
    func unusual(_ text: String) throws {
        #expect(try MessageCodec.withParsed(Array(text.utf8)) { root, _ in ServerMessage(directFrom: root) } == nil)
        let direct = Result { try MessageCodec.decodeServerMessage(from: Array(text.utf8)) }
        let codable = Result { try Self.throughCodable(Array(text.utf8)) }
        switch (direct, codable) {
        case (.success(let a), .success(let b)): #expect(a == b)
        case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)")
        default: Issue.record("the two paths disagree: \(direct) against \(codable)")
        }
    }
}
