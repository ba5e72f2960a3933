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
        } else if let filter = requestIdFilter, !filter.mightContain(requestId) {
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
        requestIdFilter?.insert(requestId)
        requestIdsRecordedDuringFilterBuild?.append(requestId)
        if let filter = requestIdFilter, filter.isFull {
            buildRequestIdFilter(capacity: filter.capacity * 2)
        }
        write(.putRequestId(row))
        afterCommit(.forgetRequestIds([requestId]))
    }

    /// Builds a request id filter of `capacity` from the store, off the loop, and installs it with
    /// the ids recorded meanwhile; until then lookups use the filter there is (or the store).
    /// Nothing if a build is running or the engine stopped.
    func buildRequestIdFilter(capacity: Int) {
        guard requestIdFilterBuilder == nil, !stopped, capacity > 0 else { return }
        // Ids not committed yet may be missing from the snapshot the build reads.
        requestIdsRecordedDuringFilterBuild = Array(uncommittedRequestIds.keys)
        requestIdFilterBuilder = Task(executorPreference: globalConcurrentExecutor) { [weak self, store, logger] in
            var filter: RequestIdFilter? = RequestIdFilter(capacity: capacity)
            do {
                try store.forEachRequestId { id in
                    try Task.checkCancellation()
                    filter?.insert(id)
                }
            } catch is CancellationError {
                filter = nil
            } catch {
                logger.warning(
                    "reading request ids failed; they are looked up in the database", metadata: ["error": "\(error)"])
                filter = nil
            }
            await self?.installRequestIdFilter(filter)
        }
    }

    /// Returns once no filter is being built (for tests).
    func requestIdFilterBuilt() async {
        while let builder = requestIdFilterBuilder { await builder.value }
    }

    private func installRequestIdFilter(_ built: RequestIdFilter?) {
        requestIdFilterBuilder = nil
        let recorded = requestIdsRecordedDuringFilterBuild ?? []
        requestIdsRecordedDuringFilterBuild = nil
        guard var filter = built, !stopped else { return }
        for id in recorded { filter.insert(id) }
        requestIdFilter = filter
        statistics.requestIdFilterBuilds += 1
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
