import OrchestratorStore

/// The keys one of the engine's filters holds.
enum FilteredKeys: Sendable, CustomStringConvertible {
    /// Every request id recorded: a new one needs no read of the store (``Engine/priorApplication(of:as:workflowId:)``).
    case requestIds
    /// Every workflow id that has had a run: a start of a new one needs no read of the store for
    /// the id's latest run (``Engine/startRefusal(workflowId:reusePolicy:)``), nor a lookup of an
    /// id that never ran.
    case workflowIds

    var description: String {
        switch self {
        case .requestIds: "request ids"
        case .workflowIds: "workflow ids"
        }
    }
}

/// One filter and its builds.
struct KeyFilterSlot {
    /// Nil until built from the store after the start (or with a capacity of 0): until then every
    /// lookup goes to the store.
    var filter: KeyFilter?
    /// While a filter is being built: the keys recorded since it began, which it may not have read.
    var recordedDuringBuild: [String]?
    var builder: Task<Void, Never>?
}

/// The engine's filters, by the keys they hold.
struct KeyFilters {
    var requestIds = KeyFilterSlot()
    var workflowIds = KeyFilterSlot()

    /// The slot of `keys`, to read.
    subscript(keys: FilteredKeys) -> KeyFilterSlot {
        switch keys {
        case .requestIds: requestIds
        case .workflowIds: workflowIds
        }
    }

    /// Changes the slot of `keys` in place (a filter's words are never copied).
    mutating func update<Result>(_ keys: FilteredKeys, _ body: (inout KeyFilterSlot) -> Result) -> Result {
        switch keys {
        case .requestIds: body(&requestIds)
        case .workflowIds: body(&workflowIds)
        }
    }

    var builders: [Task<Void, Never>] { [requestIds.builder, workflowIds.builder].compactMap { $0 } }
}

extension Engine {
    /// False when the filter rules `key` out; true when it may hold it, or when there is no filter.
    func mightHold(_ key: String, _ keys: FilteredKeys) -> Bool {
        keyFilters[keys].filter?.mightContain(key) ?? true
    }

    /// Adds `key` to the filter (and to the one being built), and rebuilds the filter twice as large
    /// when it is full.
    func record(_ key: String, _ keys: FilteredKeys) {
        let full = keyFilters.update(keys) { slot -> Int? in
            slot.recordedDuringBuild?.append(key)
            guard slot.filter?.mightContain(key) == false else { return nil }
            slot.filter?.insert(key)
            return slot.filter.flatMap { $0.isFull ? $0.capacity : nil }
        }
        if let full { buildKeyFilter(keys, capacity: full * 2) }
    }

    /// Builds a filter of `capacity` from the store, off the loop, and installs it with the keys
    /// recorded meanwhile; until then lookups use the filter there is (or the store). Nothing if a
    /// build of that filter is running or the engine stopped.
    func buildKeyFilter(_ keys: FilteredKeys, capacity: Int) {
        guard keyFilters[keys].builder == nil, !stopped, capacity > 0 else { return }
        // Keys not committed yet may be missing from the snapshot the build reads.
        let pending =
            switch keys {
            case .requestIds: Array(uncommittedRequestIds.keys)
            case .workflowIds: Array(currentRunByWorkflowId.keys)
            }
        let builder = Task(executorPreference: globalConcurrentExecutor) { [weak self, store, logger] in
            var filter: KeyFilter? = KeyFilter(capacity: capacity)
            do {
                switch keys {
                case .requestIds:
                    try store.forEachRequestId { id in
                        try Task.checkCancellation()
                        filter?.insert(id)
                    }
                case .workflowIds:
                    try store.forEachWorkflowId { id in
                        try Task.checkCancellation()
                        filter?.insert(id)
                    }
                }
            } catch is CancellationError {
                filter = nil
            } catch {
                logger.warning(
                    "reading the \(keys) failed; they are looked up in the database", metadata: ["error": "\(error)"])
                filter = nil
            }
            await self?.installKeyFilter(keys, filter)
        }
        keyFilters.update(keys) { slot in
            slot.recordedDuringBuild = pending
            slot.builder = builder
        }
    }

    /// Returns once no filter is being built (for tests).
    func keyFiltersBuilt() async {
        while let builder = keyFilters.builders.first { await builder.value }
    }

    private func installKeyFilter(_ keys: FilteredKeys, _ built: KeyFilter?) {
        let stopped = self.stopped
        let installed = keyFilters.update(keys) { slot -> Bool in
            let recorded = slot.recordedDuringBuild ?? []
            slot.builder = nil
            slot.recordedDuringBuild = nil
            guard var filter = built, !stopped else { return false }
            for key in recorded where !filter.mightContain(key) { filter.insert(key) }
            slot.filter = filter
            return true
        }
        guard installed else { return }
        switch keys {
        case .requestIds: statistics.requestIdFilterBuilds += 1
        case .workflowIds: statistics.workflowIdFilterBuilds += 1
        }
    }
}
