import Foundation
import OrchestratorProtocol
import OrchestratorStore

/// Everything a new run starts with.
struct RunParameters {
    var workflowId: String
    var runId: String
    var workflowType: String
    var taskQueue: String
    var input: JSONValue?
    var workflowTaskTimeoutMs: Int64
    var identity: String?
    var requestId: String?
    var searchAttributes: [String: JSONValue]?
    var firstExecutionRunId: String?
    var continuedExecutionRunId: String?
    var parent: ParentReference?
}

extension Engine {
    /// Creates a run: WorkflowExecutionStarted, optional signal, first WorkflowTaskScheduled.
    @discardableResult
    func startRun(_ parameters: RunParameters, signal: WorkflowExecutionSignaledAttributes? = nil) -> Execution {
        let now = clock.now()
        let runSeq = nextRunSeq
        nextRunSeq += 1
        let execution = Execution(
            runSeq: runSeq, runId: parameters.runId, workflowId: parameters.workflowId,
            workflowType: parameters.workflowType, taskQueue: parameters.taskQueue, startTime: now,
            searchAttributes: parameters.searchAttributes,
            persisted: PersistedExecutionState(
                nextEventId: 1, previousStartedEventId: 0, workflowTaskTimeoutMs: parameters.workflowTaskTimeoutMs,
                firstExecutionRunId: parameters.firstExecutionRunId ?? parameters.runId, runAttempt: 1,
                cancelRequested: false, startRequestId: parameters.requestId, parent: parameters.parent,
                children: [:], nextBufferSeq: 1))
        executions[runSeq] = execution
        runSeqByRunId[parameters.runId] = runSeq
        currentRunByWorkflowId[parameters.workflowId] = runSeq
        record(parameters.workflowId, .workflowIds)
        appendEvent(
            execution,
            .workflowExecutionStarted(
                .init(
                    workflowType: parameters.workflowType, taskQueue: parameters.taskQueue, input: parameters.input,
                    workflowTaskTimeoutMs: parameters.workflowTaskTimeoutMs, identity: parameters.identity,
                    requestId: parameters.requestId, attempt: 1,
                    firstExecutionRunId: execution.persisted.firstExecutionRunId,
                    continuedExecutionRunId: parameters.continuedExecutionRunId,
                    parentWorkflowId: parameters.parent?.workflowId, parentRunId: parameters.parent?.runId,
                    parentInitiatedEventId: parameters.parent?.initiatedEventId,
                    searchAttributes: parameters.searchAttributes)), at: now)
        if let signal { appendEvent(execution, .workflowExecutionSignaled(signal), at: now) }
        scheduleWorkflowTask(execution)
        statistics.runsStarted += 1
        logger.debug(
            "run started",
            metadata: [
                "workflowId": "\(parameters.workflowId)", "runId": "\(parameters.runId)",
                "taskQueue": "\(parameters.taskQueue)",
            ])
        return execution
    }

    /// Closes a run with its closing event and lets go of everything it waited for.
    func closeRun(_ execution: Execution, status: WorkflowExecutionStatus, event: EventAttributes) {
        guard execution.isOpen else { return }
        let now = clock.now()
        if let task = execution.workflowTask, case .started(let holder) = task.location {
            connections[holder]?.heldWorkflowTasks.remove(execution.runSeq)
        }
        for activity in execution.activities.values {
            if let holder = activity.startedConnection {
                connections[holder]?.heldActivities.remove(
                    ActivityRef(
                        runSeq: execution.runSeq, scheduledEventId: activity.scheduledEventId, attempt: activity.attempt
                    ))
            }
        }
        appendEvent(execution, event, at: now)
        execution.status = status
        execution.closeTime = now
        execution.workflowTask = nil
        execution.workflowTaskRetryPending = false
        execution.activities.removeAll()
        execution.activityIds.removeAll()
        execution.timers.removeAll()
        execution.buffered.removeAll()
        execution.stickyConnection = nil
        markDirty(execution)
        write(.deleteRunState(runSeq: execution.runSeq))
        afterCommit(.runClosed(runSeq: execution.runSeq, closeEvent: event))
        notifyRelativesOfClose(execution, status: status, closeEvent: event)
        statistics.runsClosed += 1
        logger.debug(
            "run closed",
            metadata: [
                "workflowId": "\(execution.workflowId)", "runId": "\(execution.runId)", "status": "\(status.rawValue)",
            ])
    }

    func terminate(_ execution: Execution, reason: String, details: JSONValue?, identity: String?) {
        closeRun(
            execution, status: .terminated,
            event: .workflowExecutionTerminated(.init(reason: reason, details: details, identity: identity)))
    }

    func requestCancel(_ execution: Execution, reason: String?, identity: String?) {
        guard execution.isOpen, !execution.persisted.cancelRequested else { return }
        execution.persisted.cancelRequested = true
        markDirty(execution)
        addWorkflowEvent(execution, .workflowExecutionCancelRequested(.init(reason: reason, identity: identity)))
    }

    /// Why a new run of `workflowId` may not start under `reusePolicy` (open runs always refuse), or nil.
    func startRefusal(workflowId: String, reusePolicy: WorkflowIdReusePolicy) throws(OrchestratorError) -> String? {
        let latestStatus: WorkflowExecutionStatus?
        let latestRunId: String?
        if let seq = currentRunByWorkflowId[workflowId], let execution = executions[seq] {
            latestStatus = execution.status
            latestRunId = execution.runId
        } else if mightHold(workflowId, .workflowIds) {
            statistics.workflowIdStoreReads += 1
            let row: ExecutionRow?
            do { row = try store.latestExecution(workflowId: workflowId) } catch { throw storeFailure(error) }
            latestStatus = row?.status
            latestRunId = row?.runId
        } else {
            return nil  // The id never had a run.
        }
        guard let latestStatus, let latestRunId else { return nil }
        if latestStatus.isOpen { return "workflow \(workflowId) is already running (run \(latestRunId))" }
        switch reusePolicy {
        case .allowDuplicate:
            return nil
        case .allowDuplicateFailedOnly:
            if latestStatus == .completed || latestStatus == .continuedAsNew {
                return
                    "workflow \(workflowId) already completed (run \(latestRunId)) and the reuse policy ALLOW_DUPLICATE_FAILED_ONLY allows a new run only after a failure"
            }
            return nil
        case .rejectDuplicate:
            return
                "workflow \(workflowId) already ran (run \(latestRunId)) and the reuse policy REJECT_DUPLICATE forbids a second run"
        }
    }

    // MARK: - Validation

    func validateName(_ value: String, field: String) throws(OrchestratorError) {
        if value.isEmpty { throw .invalidArgument("\(field) must not be empty") }
        if value.utf8.count > configuration.maximumIdentifierLength {
            throw .invalidArgument(
                "\(field) is \(value.utf8.count) bytes long; the limit is \(configuration.maximumIdentifierLength)")
        }
        // Printable ASCII (nearly every id) has no control characters and is already NFC.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalidArgument("\(field) must not contain control characters")
        }
        try requireNFC(value, field: field)
    }

    /// Identifiers must be in Unicode NFC: then two ids are the same exactly when their bytes are,
    /// in memory (where Swift compares canonically) and in SQLite (which compares bytes) alike.
    func requireNFC(_ value: String, field: String) throws(OrchestratorError) {
        if value.utf8.allSatisfy({ $0 < 0x80 }) { return }
        if !value.utf8.elementsEqual(value.precomposedStringWithCanonicalMapping.utf8) {
            throw .invalidArgument(
                "\(field) must be in Unicode normalization form C (composed characters, e.g. é as one code point); normalize it before sending"
            )
        }
    }

    func validateTimeout(_ value: Int64?, field: String, maximum: Int64) throws(OrchestratorError) {
        guard let value else { return }
        if value <= 0 || value > maximum {
            throw .invalidArgument("\(field) must be between 1 and \(maximum) milliseconds, got \(value)")
        }
    }

    // MARK: - Client operations

    func startWorkflow(_ request: StartWorkflowRequest, signal: (name: String, input: JSONValue?)? = nil)
        throws(OrchestratorError) -> Durable<StartWorkflowResponse>
    {
        try validateName(request.workflowId, field: "workflowId")
        try validateName(request.workflowType, field: "workflowType")
        try validateName(request.taskQueue, field: "taskQueue")
        try validateTimeout(request.workflowTaskTimeoutMs, field: "workflowTaskTimeoutMs", maximum: 600_000)
        if let signal { try validateName(signal.name, field: "signalName") }
        let kind: RequestKind = signal == nil ? .start : .signalWithStart
        if let applied = try priorApplication(of: request.requestId, as: kind, workflowId: request.workflowId) {
            return try durable(StartWorkflowResponse(runId: applied.runId, started: false))
        }
        let signalAttributes = signal.map {
            WorkflowExecutionSignaledAttributes(
                signalName: $0.name, input: $0.input, identity: request.identity, requestId: request.requestId)
        }
        // An open run: conflict policy (signal-with-start signals it instead).
        if let seq = currentRunByWorkflowId[request.workflowId], let current = executions[seq], current.isOpen {
            if let signalAttributes {
                addWorkflowEvent(current, .workflowExecutionSignaled(signalAttributes))
                recordRequestId(request.requestId, kind: kind, workflowId: request.workflowId, runId: current.runId)
                return try durable(StartWorkflowResponse(runId: current.runId, started: false))
            }
            switch request.workflowIdConflictPolicy ?? .fail {
            case .fail:
                throw OrchestratorError(
                    .alreadyStarted,
                    "workflow \(request.workflowId) is already running (run \(current.runId)); signal it, or wait until it closes",
                    details: ["runId": .string(current.runId), "workflowId": .string(request.workflowId)])
            case .useExisting:
                recordRequestId(request.requestId, kind: kind, workflowId: request.workflowId, runId: current.runId)
                return try durable(StartWorkflowResponse(runId: current.runId, started: false))
            case .terminateExisting:
                terminate(
                    current, reason: "terminated to start a new run (conflict policy TERMINATE_EXISTING)", details: nil,
                    identity: request.identity)
            }
        } else if let refusal = try startRefusal(
            workflowId: request.workflowId, reusePolicy: request.workflowIdReusePolicy ?? .allowDuplicate)
        {
            throw OrchestratorError(.alreadyStarted, refusal, details: ["workflowId": .string(request.workflowId)])
        }
        let execution = startRun(
            RunParameters(
                workflowId: request.workflowId, runId: GeneratedUUID.timeOrdered(), workflowType: request.workflowType,
                taskQueue: request.taskQueue, input: request.input,
                workflowTaskTimeoutMs: request.workflowTaskTimeoutMs ?? configuration.defaultWorkflowTaskTimeoutMs,
                identity: request.identity, requestId: request.requestId, searchAttributes: request.searchAttributes,
                firstExecutionRunId: nil, continuedExecutionRunId: nil, parent: nil),
            signal: signalAttributes)
        recordRequestId(request.requestId, kind: kind, workflowId: request.workflowId, runId: execution.runId)
        return try durable(StartWorkflowResponse(runId: execution.runId, started: true))
    }

    func signalWorkflow(_ request: SignalWorkflowRequest) throws(OrchestratorError) -> Durable<SignalWorkflowResponse> {
        let arrived = ContinuousClock.now
        try validateName(request.workflowId, field: "workflowId")
        try validateName(request.signalName, field: "signalName")
        if let applied = try priorApplication(of: request.requestId, as: .signal, workflowId: request.workflowId) {
            return try durable(SignalWorkflowResponse(runId: applied.runId))
        }
        let execution = try openRun(
            workflowId: request.workflowId, runId: request.runId, action: "signal \(request.signalName)")
        addWorkflowEvent(
            execution,
            .workflowExecutionSignaled(
                .init(
                    signalName: request.signalName, input: request.input, identity: request.identity,
                    requestId: request.requestId)))
        recordRequestId(request.requestId, kind: .signal, workflowId: request.workflowId, runId: execution.runId)
        statistics.signals += 1
        let answer = try durable(SignalWorkflowResponse(runId: execution.runId))
        pendingSignalArrivals.append(arrived)
        return answer
    }

    func requestCancelWorkflow(_ request: RequestCancelWorkflowRequest) throws(OrchestratorError) -> Durable<
        RunResponse
    > {
        try validateName(request.workflowId, field: "workflowId")
        if let applied = try priorApplication(of: request.requestId, as: .cancel, workflowId: request.workflowId) {
            return try durable(RunResponse(runId: applied.runId))
        }
        let execution = try openRun(workflowId: request.workflowId, runId: request.runId, action: "cancel")
        requestCancel(execution, reason: request.reason, identity: request.identity)
        recordRequestId(request.requestId, kind: .cancel, workflowId: request.workflowId, runId: execution.runId)
        return try durable(RunResponse(runId: execution.runId))
    }

    func terminateWorkflow(_ request: TerminateWorkflowRequest) throws(OrchestratorError) -> Durable<RunResponse> {
        try validateName(request.workflowId, field: "workflowId")
        if let applied = try priorApplication(of: request.requestId, as: .terminate, workflowId: request.workflowId) {
            return try durable(RunResponse(runId: applied.runId))
        }
        let execution = try openRun(workflowId: request.workflowId, runId: request.runId, action: "terminate")
        terminate(execution, reason: request.reason, details: request.details, identity: request.identity)
        recordRequestId(request.requestId, kind: .terminate, workflowId: request.workflowId, runId: execution.runId)
        return try durable(RunResponse(runId: execution.runId))
    }
}
