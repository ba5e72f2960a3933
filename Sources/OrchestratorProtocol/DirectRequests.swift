// The requests a workload sends and reads most (workflow task completions with their common
// commands, starts, signals, queries, result waits, polls, activity completions, query answers),
// written and read without Codable's containers: the same bytes and values, fewer allocations.
// Every other request, and any unusual form, goes through Codable with its errors.
// `DirectMessageTests` compare both paths.

// MARK: - Reading requests (the server)

/// The requests a workload sends most, read straight from the parsed JSON when every member has
/// its plain form; anything else (a missing or mistyped member, an unusual number form, another
/// operation) returns nil and Codable reads the request, with its precise errors. Unknown members
/// are ignored and the first of repeated keys wins, as with Codable.
extension RequestMessage {
    init?(directFrom node: JSONElement) {
        guard let members = node.object, let rawId = members.int64("id"), rawId > 0,
            let op = members.name("op", as: OperationName.self),
            let f = members.object("body")
        else { return nil }
        let request: Request
        switch op {
        case .signalWorkflow:
            guard let workflowId = f.string("workflowId"), let signalName = f.string("signalName"),
                let runId = f.optionalString("runId"), let requestId = f.optionalString("requestId"),
                let identity = f.optionalString("identity")
            else { return nil }
            request = .signalWorkflow(
                SignalWorkflowRequest(
                    workflowId: workflowId, runId: runId, signalName: signalName, input: f.payload("input"),
                    requestId: requestId, identity: identity))
        case .queryWorkflow:
            guard let workflowId = f.string("workflowId"), let queryType = f.string("queryType"),
                let runId = f.optionalString("runId"), let timeoutMs = f.optionalInt64("timeoutMs")
            else { return nil }
            request = .queryWorkflow(
                QueryWorkflowRequest(
                    workflowId: workflowId, runId: runId, queryType: queryType, args: f.payload("args"),
                    timeoutMs: timeoutMs))
        case .awaitWorkflowResult:
            guard let workflowId = f.string("workflowId"), let runId = f.optionalString("runId"),
                let followRuns = f.optionalBool("followRuns"), let timeoutMs = f.optionalInt64("timeoutMs")
            else { return nil }
            request = .awaitWorkflowResult(
                AwaitWorkflowResultRequest(
                    workflowId: workflowId, runId: runId, followRuns: followRuns, timeoutMs: timeoutMs))
        case .pollWorkflowTask:
            guard let taskQueue = f.string("taskQueue"), let identity = f.optionalString("identity"),
                let timeoutMs = f.optionalInt64("timeoutMs"),
                let answersQueries = f.optionalBool("answersQueriesInTasks"),
                let answersStarted = f.optionalBool("answersQueriesOfStartedTasks"),
                let acceptsPushed = f.optionalBool("acceptsPushedWorkflowTasks")
            else { return nil }
            request = .pollWorkflowTask(
                PollWorkflowTaskRequest(
                    taskQueue: taskQueue, identity: identity, timeoutMs: timeoutMs,
                    answersQueriesInTasks: answersQueries, answersQueriesOfStartedTasks: answersStarted,
                    acceptsPushedWorkflowTasks: acceptsPushed))
        case .completeActivityTask:
            guard let taskToken = f.string("taskToken"), let identity = f.optionalString("identity") else {
                return nil
            }
            request = .completeActivityTask(
                CompleteActivityTaskRequest(taskToken: taskToken, result: f.payload("result"), identity: identity))
        case .respondQuery:
            guard let answer = RespondQueryRequest(directFrom: f) else { return nil }
            request = .respondQuery(answer)
        case .startWorkflow:
            guard let start = StartWorkflowRequest(directFrom: f) else { return nil }
            request = .startWorkflow(start)
        case .completeWorkflowTask:
            guard let taskToken = f.string("taskToken"), let items = f.first("commands")?.array,
                let identity = f.optionalString("identity"), let sticky = f.optionalBool("stickyCache"),
                let returnTask = f.optionalBool("returnNewWorkflowTask")
            else { return nil }
            var commands: [Command] = []
            commands.reserveCapacity(items.count)
            for item in items {
                guard let command = Command(directFrom: item) else { return nil }
                commands.append(command)
            }
            let read = f.optional("queryResults") { node -> [RespondQueryRequest]? in
                guard let answers = node.array else { return nil }
                var results: [RespondQueryRequest] = []
                results.reserveCapacity(answers.count)
                for answer in answers {
                    guard let members = answer.object, let result = RespondQueryRequest(directFrom: members) else {
                        return nil
                    }
                    results.append(result)
                }
                return results
            }
            guard let results = read else { return nil }
            request = .completeWorkflowTask(
                CompleteWorkflowTaskRequest(
                    taskToken: taskToken, commands: commands, identity: identity, stickyCache: sticky,
                    returnNewWorkflowTask: returnTask, queryResults: results))
        default:
            return nil
        }
        self.init(id: UInt64(rawId), request: request)
    }
}

extension StartWorkflowRequest {
    /// A start without search attributes read directly; policies must be known names.
    fileprivate init?(directFrom f: JSONObjectView) {
        guard let workflowId = f.string("workflowId"), let workflowType = f.string("workflowType"),
            let taskQueue = f.string("taskQueue"), let requestId = f.optionalString("requestId"),
            let reusePolicy = f.optionalName("workflowIdReusePolicy", as: WorkflowIdReusePolicy.self),
            let conflictPolicy = f.optionalName("workflowIdConflictPolicy", as: WorkflowIdConflictPolicy.self),
            let taskTimeout = f.optionalInt64("workflowTaskTimeoutMs"), f.isAbsentOrNull("searchAttributes"),
            let identity = f.optionalString("identity")
        else { return nil }
        self.init(
            workflowId: workflowId, workflowType: workflowType, taskQueue: taskQueue, input: f.payload("input"),
            requestId: requestId, workflowIdReusePolicy: reusePolicy, workflowIdConflictPolicy: conflictPolicy,
            workflowTaskTimeoutMs: taskTimeout, identity: identity)
    }
}

extension RespondQueryRequest {
    /// A plain answer (no failure) read directly.
    fileprivate init?(directFrom f: JSONObjectView) {
        guard let queryId = f.string("queryId"), f.isAbsentOrNull("failure") else { return nil }
        self.init(queryId: queryId, result: f.payload("result"))
    }
}

extension Command {
    /// The commands a workflow emits most, read directly when plain; nil for the others.
    fileprivate init?(directFrom node: JSONElement) {
        guard let members = node.object, let a = members.object("attributes") else { return nil }
        switch members.name("commandType", as: CommandType.self) {
        case .startTimer:
            guard let timerId = a.string("timerId"), let timeout = a.int64("startToFireTimeoutMs") else { return nil }
            self = .startTimer(StartTimerCommand(timerId: timerId, startToFireTimeoutMs: timeout))
        case .cancelTimer:
            guard let timerId = a.string("timerId") else { return nil }
            self = .cancelTimer(CancelTimerCommand(timerId: timerId))
        case .completeWorkflowExecution:
            self = .completeWorkflowExecution(CompleteWorkflowExecutionCommand(result: a.payload("result")))
        case .scheduleActivityTask:
            guard let activityId = a.string("activityId"), let activityType = a.string("activityType"),
                let taskQueue = a.optionalString("taskQueue"),
                let scheduleToClose = a.optionalInt64("scheduleToCloseTimeoutMs"),
                let startToClose = a.optionalInt64("startToCloseTimeoutMs"),
                let heartbeat = a.optionalInt64("heartbeatTimeoutMs"),
                let eager = a.optionalBool("requestEagerExecution")
            else { return nil }
            let read = a.optional("retryPolicy") { $0.object.flatMap(RetryPolicy.init(directFrom:)) }
            guard let retryPolicy = read else { return nil }
            self = .scheduleActivityTask(
                ScheduleActivityTaskCommand(
                    activityId: activityId, activityType: activityType, taskQueue: taskQueue, input: a.payload("input"),
                    scheduleToCloseTimeoutMs: scheduleToClose, startToCloseTimeoutMs: startToClose,
                    heartbeatTimeoutMs: heartbeat, retryPolicy: retryPolicy, requestEagerExecution: eager))
        default:
            return nil
        }
    }
}

extension RetryPolicy {
    /// A policy read directly (the engine writes every scheduled activity's policy resolved, with
    /// its non-retryable types, often `[]`).
    init?(directFrom f: JSONObjectView) {
        guard let types = f.optionalStrings("nonRetryableErrorTypes"),
            let initial = f.optionalInt64("initialIntervalMs"),
            let maximum = f.optionalInt64("maximumIntervalMs"), let attempts = f.optionalInt64("maximumAttempts"),
            let coefficient = f.optionalDouble("backoffCoefficient")
        else { return nil }
        var narrowed: Int32?
        if let attempts {
            guard let value = Int32(exactly: attempts) else { return nil }
            narrowed = value
        }
        self.init(
            initialIntervalMs: initial, backoffCoefficient: coefficient, maximumIntervalMs: maximum,
            maximumAttempts: narrowed, nonRetryableErrorTypes: types)
    }
}

// MARK: - Writing requests (workers and clients)

extension RequestMessage {
    /// The request's tree for the operations workers and clients send most, or nil when Codable
    /// must build it.
    func directlyEncoded(by encoder: ValueEncoder) throws -> EncodedValue? {
        guard let body = try request.directlyEncodedBody(by: encoder) else { return nil }
        var object = CanonicalObjectWriter(capacity: 3)
        try object.value("body", body)
        object.uint("id", id)
        object.string("op", request.operation.rawValue)
        return .raw(object.finish())
    }
}

extension Request {
    fileprivate func directlyEncodedBody(by encoder: ValueEncoder) throws -> EncodedValue? {
        var object = CanonicalObjectWriter(capacity: 8)
        switch self {
        case .signalWorkflow(let body):
            object.string("identity", body.identity)
            try object.payload("input", body.input)
            object.string("requestId", body.requestId)
            object.string("runId", body.runId)
            object.string("signalName", body.signalName)
            object.string("workflowId", body.workflowId)
        case .queryWorkflow(let body):
            try object.payload("args", body.args)
            object.string("queryType", body.queryType)
            object.string("runId", body.runId)
            object.int("timeoutMs", body.timeoutMs)
            object.string("workflowId", body.workflowId)
        case .awaitWorkflowResult(let body):
            object.bool("followRuns", body.followRuns)
            object.string("runId", body.runId)
            object.int("timeoutMs", body.timeoutMs)
            object.string("workflowId", body.workflowId)
        case .pollWorkflowTask(let body):
            object.bool("acceptsPushedWorkflowTasks", body.acceptsPushedWorkflowTasks)
            object.bool("answersQueriesInTasks", body.answersQueriesInTasks)
            object.bool("answersQueriesOfStartedTasks", body.answersQueriesOfStartedTasks)
            object.string("identity", body.identity)
            object.string("taskQueue", body.taskQueue)
            object.int("timeoutMs", body.timeoutMs)
        case .completeActivityTask(let body):
            object.string("identity", body.identity)
            try object.payload("result", body.result)
            object.string("taskToken", body.taskToken)
        case .respondQuery(let body):
            guard body.failure == nil else { return nil }
            return .raw(try Self.answer(body).finish())
        case .startWorkflow(let body):
            guard body.searchAttributes == nil else { return nil }
            object.string("identity", body.identity)
            try object.payload("input", body.input)
            object.string("requestId", body.requestId)
            object.string("taskQueue", body.taskQueue)
            object.string("workflowId", body.workflowId)
            object.string("workflowIdConflictPolicy", body.workflowIdConflictPolicy?.rawValue)
            object.string("workflowIdReusePolicy", body.workflowIdReusePolicy?.rawValue)
            object.int("workflowTaskTimeoutMs", body.workflowTaskTimeoutMs)
            object.string("workflowType", body.workflowType)
        case .completeWorkflowTask(let body):
            try object.array("commands") { commands in
                for (index, command) in body.commands.enumerated() {
                    if let direct = try command.directlyEncoded() {
                        commands.append(direct)
                    } else {
                        try commands.append(try encoder.encode(command, key: IndexKey(intValue: index)))
                    }
                }
            }
            object.string("identity", body.identity)
            if let results = body.queryResults {
                try object.array("queryResults") { answers in
                    for (index, answer) in results.enumerated() {
                        if answer.failure == nil {
                            answers.append(try Self.answer(answer))
                        } else {
                            try answers.append(try encoder.encode(answer, key: IndexKey(intValue: index)))
                        }
                    }
                }
            }
            object.bool("returnNewWorkflowTask", body.returnNewWorkflowTask)
            object.bool("stickyCache", body.stickyCache)
            object.string("taskToken", body.taskToken)
        default:
            return nil
        }
        return .raw(object.finish())
    }

    private static func answer(_ body: RespondQueryRequest) throws -> CanonicalObjectWriter {
        var object = CanonicalObjectWriter(capacity: 2)
        object.string("queryId", body.queryId)
        try object.payload("result", body.result)
        return object
    }
}

extension Command {
    /// The commands a workflow emits most, written directly; nil for the others.
    fileprivate func directlyEncoded() throws -> CanonicalObjectWriter? {
        var attributes = CanonicalObjectWriter(capacity: 8)
        switch self {
        case .startTimer(let a):
            attributes.int("startToFireTimeoutMs", a.startToFireTimeoutMs)
            attributes.string("timerId", a.timerId)
        case .cancelTimer(let a):
            attributes.string("timerId", a.timerId)
        case .completeWorkflowExecution(let a):
            try attributes.payload("result", a.result)
        case .scheduleActivityTask(let a):
            attributes.string("activityId", a.activityId)
            attributes.string("activityType", a.activityType)
            attributes.int("heartbeatTimeoutMs", a.heartbeatTimeoutMs)
            try attributes.payload("input", a.input)
            attributes.bool("requestEagerExecution", a.requestEagerExecution)
            if let policy = a.retryPolicy { attributes.raw("retryPolicy", try policy.canonicalJSON()) }
            attributes.int("scheduleToCloseTimeoutMs", a.scheduleToCloseTimeoutMs)
            attributes.int("startToCloseTimeoutMs", a.startToCloseTimeoutMs)
            attributes.string("taskQueue", a.taskQueue)
        default:
            return nil
        }
        var object = CanonicalObjectWriter(capacity: 2)
        object.object("attributes", attributes)
        object.string("commandType", commandType.rawValue)
        return object
    }
}
