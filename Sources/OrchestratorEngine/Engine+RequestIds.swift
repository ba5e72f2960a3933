import OrchestratorProtocol
import OrchestratorStore

extension Engine {
    /// The earlier application of a request id (committed or not), or nil if it is new. A request id
    /// names one request: reusing it for another operation or another workflow is INVALID_ARGUMENT.
    func priorApplication(of requestId: String?, as kind: RequestKind, workflowId: String) throws(OrchestratorError)
        -> RequestIdRow?
    {
        guard let requestId, !requestId.isEmpty else { return nil }
        if requestId.utf8.count > configuration.maximumIdentifierLength {
            throw .invalidArgument(
                "requestId is \(requestId.utf8.count) bytes; the limit is \(configuration.maximumIdentifierLength)")
        }
        try requireNFC(requestId, field: "requestId")
        let row: RequestIdRow?
        if let pending = uncommittedRequestIds[requestId] {
            row = pending
        } else if !mightHold(requestId, .requestIds) {
            row = nil
        } else {
            statistics.requestIdStoreReads += 1
            do { row = try store.requestId(requestId) } catch { throw storeFailure(error) }
        }
        guard let row else { return nil }
        guard row.workflowId == workflowId, row.kind == kind.rawValue else {
            throw .invalidArgument(
                "request id \(requestId) was already used to \(row.kind) workflow \(row.workflowId); use a new request id for a new request"
            )
        }
        return row
    }

    func recordRequestId(_ requestId: String?, kind: RequestKind, workflowId: String, runId: String) {
        guard let requestId, !requestId.isEmpty else { return }
        let row = RequestIdRow(
            requestId: requestId, kind: kind.rawValue, workflowId: workflowId, runId: runId, createdTime: clock.now())
        uncommittedRequestIds[requestId] = row
        record(requestId, .requestIds)
        write(.putRequestId(row))
        afterCommit(.forgetRequestIds([requestId]))
    }
}

/// What a request id was used for; the raw value is the recorded kind and the verb its reuse error names.
enum RequestKind: String {
    case start
    case signalWithStart = "signal-with-start"
    case signal
    case cancel
    case terminate
}
