import Foundation
import Testing

@testable import OrchestratorProtocol

@Suite("Events with their attributes encoded once")
struct EncodedAttributesTests {
    /// Every history event of the vectors that carry events.
    static func vectorEvents() throws -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        for vector in Vectors.messages where vector.kind == "server" {
            let message = try MessageCodec.decodeServerMessage(from: Array(vector.json.utf8))
            switch message {
            case .response(_, .pollWorkflowTask(let response)): events += response.task?.events ?? []
            case .response(_, .getWorkflowHistory(let response)): events += response.events
            default: break
            }
        }
        return events
    }

    @Test("a task whose events carry their encoded attributes is written byte for byte as one that does not")
    func splicedBytesAreCanonical() throws {
        let events = try Self.vectorEvents()
        #expect(events.count > 10)
        let encodedOnce = try events.map { event -> HistoryEvent in
            var copy = event
            try copy.encodeAttributesOnce()
            return copy
        }
        #expect(encodedOnce.allSatisfy { $0.encodedAttributes != nil })
        #expect(events.allSatisfy { $0.encodedAttributes == nil })
        #expect(try MessageCodec.encodeBytes(encodedOnce) == MessageCodec.encodeBytes(events))
        for (plain, cached) in zip(events, encodedOnce) {
            #expect(plain == cached)
            #expect(try MessageCodec.encodeBytes(cached) == MessageCodec.encodeBytes(plain))
        }
    }

    @Test("an event written directly (a buffered event's column) is the bytes Codable writes")
    func directEventsAreCanonical() throws {
        let events = try Self.vectorEvents()
        for event in events {
            var cached = event
            try cached.encodeAttributesOnce()
            let codable = try MessageCodec.encodeBytes(event)
            #expect(try event.canonicalJSON() == codable, "\(String(decoding: codable, as: UTF8.self))")
            #expect(try cached.canonicalJSON() == codable)
        }
    }

    @Test("workflow-task attributes written directly are the bytes Codable writes")
    func directAttributesAreCanonical() throws {
        for value in Self.directAttributes() {
            let direct = try value.canonicalJSON()
            let codable = try MessageCodec.encodeBytes(value)
            #expect(direct == codable, "\(String(decoding: direct, as: UTF8.self))")
        }
        // The others go through Codable.
        let signaled = EventAttributes.workflowExecutionSignaled(
            .init(signalName: "ack", input: ["responder": "alice"], identity: nil, requestId: "r"))
        #expect(try signaled.canonicalJSON() == MessageCodec.encodeBytes(signaled))
    }

    /// Attributes of every kind the server writes directly, with odd strings, payloads and optionals.
    static func directAttributes() -> [EventAttributes] {
        let identities: [String?] = [
            nil, "", "incident-worker@host-1:4242", #"a "quoted" \ name"#, "tab\tnew\nline\u{01}",
            "Zahlungsdienst gestört ✓",
        ]
        var attributes: [EventAttributes] = []
        for identity in identities {
            attributes.append(.workflowTaskStarted(.init(scheduledEventId: 2, identity: identity)))
            attributes.append(
                .workflowTaskCompleted(
                    .init(scheduledEventId: 9_007_199_254_740_993, startedEventId: 3, identity: identity)))
            attributes.append(
                .workflowTaskScheduled(
                    .init(taskQueue: identity ?? "q", startToCloseTimeoutMs: -1, attempt: Int32.max)))
        }
        let payloads: [JSONValue?] = [
            nil, .null, ["alertID": "ALERT-001", "z": [1, 2.5, true], "a": ["nested": "ü\"x\""]], "text", 42,
        ]
        for (index, payload) in payloads.enumerated() {
            let identity = identities[index % identities.count]
            attributes.append(
                .workflowExecutionSignaled(
                    .init(signalName: "add-alert", input: payload, identity: identity, requestId: identity)))
            attributes.append(
                .activityTaskStarted(.init(scheduledEventId: 6, identity: identity, attempt: 3, lastFailure: nil)))
            attributes.append(
                .activityTaskCompleted(
                    .init(scheduledEventId: 6, startedEventId: 7, result: payload, identity: identity)))
            attributes.append(
                .timerStarted(
                    .init(timerId: identity ?? "t", startToFireTimeoutMs: 30_000, workflowTaskCompletedEventId: 4)))
            attributes.append(
                .timerCanceled(.init(timerId: identity ?? "t", startedEventId: 5, workflowTaskCompletedEventId: 9)))
        }
        attributes.append(
            .activityTaskStarted(
                .init(
                    scheduledEventId: 6, identity: "w", attempt: 2,
                    lastFailure: Failure(message: "boom", type: "NotifyError"))))
        let policies = [
            RetryPolicy(),
            RetryPolicy(
                initialIntervalMs: 250, backoffCoefficient: 1.5, maximumIntervalMs: 10_000, maximumAttempts: 7,
                nonRetryableErrorTypes: ["Bad \"input\"", "ü"]),
            // As the engine writes every scheduled activity's policy: resolved, with `[]`.
            RetryPolicy(initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 30_000).resolved,
        ]
        for (index, payload) in payloads.enumerated() {
            let identity = identities[index % identities.count]
            let optional: Int64? = index.isMultiple(of: 2) ? nil : 60_000
            attributes.append(
                .activityTaskScheduled(
                    .init(
                        activityId: identity ?? "1", activityType: "NotifyIncident", taskQueue: "incident-task-queue",
                        input: payload, scheduleToCloseTimeoutMs: optional, startToCloseTimeoutMs: 10_000,
                        heartbeatTimeoutMs: optional.map { $0 / 10 }, retryPolicy: policies[index % policies.count],
                        workflowTaskCompletedEventId: 4)))
            attributes.append(
                .workflowExecutionStarted(
                    .init(
                        workflowType: "IncidentWorkflow", taskQueue: identity ?? "q", input: payload,
                        workflowTaskTimeoutMs: 10_000, identity: identity, requestId: identity, attempt: 1,
                        firstExecutionRunId: "0b5e6f1c-8d1e-4f7a-9c57-2f2b8f0f6a11",
                        continuedExecutionRunId: index == 1 ? "c" : nil, parentWorkflowId: index == 2 ? "p" : nil,
                        parentRunId: index == 2 ? "pr" : nil, parentInitiatedEventId: index == 2 ? 5 : nil)))
            attributes.append(.workflowExecutionCompleted(.init(result: payload, workflowTaskCompletedEventId: 12)))
        }
        attributes.append(
            .workflowExecutionStarted(
                .init(
                    workflowType: "T", taskQueue: "q", input: nil, workflowTaskTimeoutMs: 1, identity: nil,
                    requestId: nil, attempt: 1, firstExecutionRunId: "r",
                    searchAttributes: ["service": "payment-api", "level": 2])))
        return attributes
    }

    @Test("workflow-task events read directly (inside arrays) equal those Codable reads; odd forms fall back")
    func directEventsDecodeAsCodable() throws {
        let texts = [
            #"{"attributes":{"identity":"w \"1\" ✓","scheduledEventId":2},"eventId":3,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowTaskStarted"}"#,
            #"{"attributes":{"scheduledEventId":2,"identity":null},"eventId":3,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowTaskStarted"}"#,
            #"{"eventType":"WorkflowTaskCompleted","eventTime":"2026-11-22T10:15:30Z","eventId":4,"attributes":{"startedEventId":3,"scheduledEventId":2,"extra":[1]}}"#,
            #"{"attributes":{"attempt":2,"startToCloseTimeoutMs":10000,"taskQueue":"q"},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowTaskScheduled"}"#,
            #"{"attributes":{"input":null,"signalName":"ack"},"eventId":8,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowExecutionSignaled"}"#,
            #"{"attributes":{"identity":"s","input":{"b":[1,{"c":null}],"a":"x"},"requestId":"r","signalName":"add-alert"},"eventId":8,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowExecutionSignaled"}"#,
            #"{"attributes":{"attempt":2,"lastFailure":{"message":"boom","type":"E"},"scheduledEventId":6},"eventId":9,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskStarted"}"#,
            #"{"attributes":{"attempt":1,"lastFailure":null,"scheduledEventId":6},"eventId":9,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskStarted"}"#,
            #"{"attributes":{"scheduledEventId":6,"startedEventId":9},"eventId":10,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskCompleted"}"#,
            #"{"attributes":{"startedEventId":5,"timerId":"2","workflowTaskCompletedEventId":11},"eventId":12,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"TimerCanceled"}"#,
            #"{"attributes":{"startToFireTimeoutMs":30000,"timerId":"2","workflowTaskCompletedEventId":4},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"TimerStarted"}"#,
            #"{"attributes":{"activityId":"5","activityType":"NotifyIncident","retryPolicy":{"backoffCoefficient":2,"maximumAttempts":null},"startToCloseTimeoutMs":10000,"taskQueue":"q","workflowTaskCompletedEventId":4,"unknown":true},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskScheduled"}"#,
            #"{"attributes":{"attempt":1,"firstExecutionRunId":"r","searchAttributes":null,"taskQueue":"q","workflowTaskTimeoutMs":10000,"workflowType":"T","parentRunId":null},"eventId":1,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowExecutionStarted"}"#,
            #"{"attributes":{"result":null,"workflowTaskCompletedEventId":12},"eventId":13,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowExecutionCompleted"}"#,
            // Forms the direct reader leaves to Codable (some of them errors): a number written as a
            // double, a repeated key, a policy that is not an object, a missing or mistyped member.
            #"{"attributes":{"activityId":"5","activityType":"A","retryPolicy":null,"startToCloseTimeoutMs":1,"taskQueue":"q","workflowTaskCompletedEventId":4},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskScheduled"}"#,
            #"{"attributes":{"activityId":"5","activityType":"A","retryPolicy":{"maximumAttempts":3.0},"startToCloseTimeoutMs":1,"taskQueue":"q","workflowTaskCompletedEventId":4},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskScheduled"}"#,
            #"{"attributes":{"activityId":"5","activityType":"A","retryPolicy":{"nonRetryableErrorTypes":["E",1]},"startToCloseTimeoutMs":1,"taskQueue":"q","workflowTaskCompletedEventId":4},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskScheduled"}"#,
            #"{"attributes":{"activityId":"5","activityType":"A","retryPolicy":{"nonRetryableErrorTypes":"E"},"startToCloseTimeoutMs":1,"taskQueue":"q","workflowTaskCompletedEventId":4},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"ActivityTaskScheduled"}"#,
            #"{"attributes":{"attempt":1,"firstExecutionRunId":"r","parentInitiatedEventId":"5","taskQueue":"q","workflowTaskTimeoutMs":10000,"workflowType":"T"},"eventId":1,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowExecutionStarted"}"#,
            #"{"attributes":{"attempt":1,"taskQueue":"q","workflowTaskTimeoutMs":10000,"workflowType":"T"},"eventId":1,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowExecutionStarted"}"#,
            #"{"attributes":{"result":1},"eventId":13,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowExecutionCompleted"}"#,
            #"{"attributes":{"attempt":2.0,"startToCloseTimeoutMs":10000,"taskQueue":"q"},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowTaskScheduled"}"#,
            #"{"attributes":{"scheduledEventId":2,"scheduledEventId":7},"eventId":3,"eventId":9,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowTaskStarted"}"#,
        ]
        var events = try Self.vectorEvents().map { try MessageCodec.encodeToString($0) }
        events += texts
        // Every kind the server writes directly is read directly too, except the forms it leaves
        // to Codable (a started run's search attributes, a retry's last failure).
        for (index, attributes) in Self.directAttributes().enumerated() {
            let event = HistoryEvent(
                eventId: Int64(index + 1), eventTime: Timestamp(milliseconds: 1_764_650_000_123), attributes: attributes
            )
            let text = try MessageCodec.encodeToString(event)
            events.append(text)
            let readDirectly = try MessageCodec.withParsed(Array(text.utf8)) { root, _ in HistoryEvent(directFrom: root)
            }
            switch attributes {
            case .workflowExecutionStarted(let a) where a.searchAttributes != nil: #expect(readDirectly == nil)
            case .activityTaskStarted(let a) where a.lastFailure != nil: #expect(readDirectly == nil)
            default:  // (a null payload reads back as absent, on both paths)
                let codable = try MessageCodec.decode(HistoryEvent.self, from: Array(text.utf8))
                #expect(readDirectly != nil && readDirectly == codable, "\(text)")
            }
        }
        for text in events {
            // At the top level an event is read by Codable; as an array item, directly when it can be.
            let codable = Result { try MessageCodec.decode(HistoryEvent.self, from: Array(text.utf8)) }
            let direct = Result { try MessageCodec.decode([HistoryEvent].self, from: Array("[\(text)]".utf8)).first }
            switch (codable, direct) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(text)")
            case (.failure, .failure): break
            default: Issue.record("one path failed: \(text): \(codable) vs \(direct)")
            }
        }
        // Bad forms fail the same way as before: the direct reader leaves them to Codable's errors.
        let bad =
            #"[{"attributes":{"attempt":4294967296,"startToCloseTimeoutMs":1,"taskQueue":"q"},"eventId":5,"eventTime":"2026-11-22T10:15:30.262Z","eventType":"WorkflowTaskScheduled"}]"#
        #expect(throws: DecodingError.self) { try MessageCodec.decode([HistoryEvent].self, from: Array(bad.utf8)) }
    }

    @Test("a workflow task built and read directly (inside a response) matches Codable's bytes and values")
    func directTasks() throws {
        let events = try Self.vectorEvents()
        let cached = try events.map { event -> HistoryEvent in
            var copy = event
            try copy.encodeAttributesOnce()
            return copy
        }
        let query = WorkflowQuery(
            queryId: "q-1", workflowId: "incident-ü", runId: "r", workflowType: "IncidentWorkflow", taskQueue: "q",
            queryType: "status", args: ["verbose": true])
        var tasks: [WorkflowTask] = []
        for (carried, queries) in [(events, nil), (cached, [query]), ([], []), (Array(cached.prefix(3)), nil)]
            as [([HistoryEvent], [WorkflowQuery]?)]
        {
            tasks.append(
                WorkflowTask(
                    taskToken: #"wf:"1"/2/3"#, workflowId: "incident-payment-api", runId: "run\n1",
                    workflowType: "IncidentWorkflow", taskQueue: "incident-task-queue", attempt: 2,
                    previousStartedEventId: 3, startedEventId: 10, events: carried, queries: queries))
        }
        for task in tasks {
            // At the top level a task goes through Codable; inside a response, directly.
            let codable = try MessageCodec.encodeBytes(task)
            let direct = try MessageCodec.encodeBytes(PollWorkflowTaskResponse(task: task))
            #expect(direct == Array(#"{"task":"#.utf8) + codable + [UInt8(ascii: "}")])
            let readDirectly = try MessageCodec.decode(PollWorkflowTaskResponse.self, from: direct).task
            let readByCodable = try MessageCodec.decode(WorkflowTask.self, from: codable)
            #expect(readDirectly == readByCodable)
            #expect(readDirectly == task)
        }
        // A task the direct reader leaves to Codable fails with Codable's error.
        let bad =
            #"{"task":{"attempt":1,"events":[],"previousStartedEventId":0,"runId":"r","startedEventId":"3","taskQueue":"q","taskToken":"t","workflowId":"w","workflowType":"T"}}"#
        #expect(throws: DecodingError.self) {
            try MessageCodec.decode(PollWorkflowTaskResponse.self, from: Array(bad.utf8))
        }
    }

    @Test("another encoder (Foundation's) sees the same attributes, and changing them drops the bytes")
    func foreignEncoderAndMutation() throws {
        var event = HistoryEvent(
            eventId: 7, eventTime: Timestamp(milliseconds: 1_700_000_000_000),
            attributes: .workflowExecutionSignaled(
                .init(signalName: "add-alert", input: ["alertID": "ALERT-001"], identity: "starter", requestId: nil)))
        try event.encodeAttributesOnce()
        let foundation = try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? NSDictionary
        let ours = try JSONSerialization.jsonObject(with: MessageCodec.encode(event)) as? NSDictionary
        #expect(foundation != nil && foundation == ours)
        event.attributes = .workflowExecutionSignaled(
            .init(signalName: "ack", input: ["responder": "alice"], identity: "starter", requestId: nil))
        #expect(event.encodedAttributes == nil)
        let text = try MessageCodec.encodeToString(event)
        #expect(text.contains(#""signalName":"ack""#) && !text.contains("add-alert"))
    }
}
