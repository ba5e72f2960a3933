import OrchestratorProtocol

extension Engine {
    /// Work that waits for durability: tasks become visible, waiters wake, closed runs leave memory.
    func perform(_ action: PostCommitAction) {
        switch action {
        case .workflowTaskReady(let runSeq, let scheduledEventId):
            guard let execution = executions[runSeq], let task = execution.workflowTask,
                task.scheduledEventId == scheduledEventId, task.location == .notReady
            else { return }
            dispatchWorkflowTask(execution)
        case .activityReady(let ref):
            activityBecameReady(ref)
        case .historyAdvanced(let runSeq, let through):
            if let execution = executions[runSeq] {
                execution.committedEventId = max(execution.committedEventId, through)
            }
            wake(&historyWaiters, runSeq: runSeq, with: ())
        case .runClosed(let runSeq, let closeEvent):
            guard let execution = executions[runSeq], !execution.isOpen else { return }
            executions[runSeq] = nil
            runSeqByRunId[execution.runId] = nil
            if currentRunByWorkflowId[execution.workflowId] == runSeq {
                currentRunByWorkflowId[execution.workflowId] = nil
            }
            pendingWorkflowTaskRetryAttempts[runSeq] = nil
            wake(&historyWaiters, runSeq: runSeq, with: ())
            wake(
                &closeWaiters, runSeq: runSeq,
                with: ClosedRun(
                    runSeq: runSeq, runId: execution.runId, status: execution.status, closeEvent: closeEvent))
            let waiting = execution.queriesAwaitingTask
            execution.queriesAwaitingTask.removeAll()
            for queryId in waiting { routeQuery(queryId) }
        case .forgetRequestIds(let ids):
            for id in ids { uncommittedRequestIds[id] = nil }
        case .deliverQueries(let runSeq):
            deliverAwaitingQueries(runSeq: runSeq)
        }
    }

    private func wake<Value>(_ waiters: inout [Int64: [RunWaiter<Value>]], runSeq: Int64, with value: Value) {
        guard let list = waiters.removeValue(forKey: runSeq) else { return }
        for waiter in list { waiter.continuation.resume(returning: value) }
    }

    /// Answers long polls and queries whose time is up.
    func sweepExpiredWaiters() {
        let now = clock.now()
        for name in Array(taskQueues.keys) {
            guard var queue = taskQueues[name] else { continue }
            if queue.workflowPollers.contains(where: { $0.deadline <= now }) {
                var expired: [Poller<WorkflowTaskDelivery>] = []
                queue.workflowPollers.removeAll { poller in
                    if poller.deadline <= now { expired.append(poller); return true }
                    return false
                }
                taskQueues[name] = queue
                for poller in expired { poller.continuation.resume(returning: nil) }
            }
            if queue.activityPollers.contains(where: { $0.deadline <= now }) {
                var expired: [Poller<ActivityTask>] = []
                queue.activityPollers.removeAll { poller in
                    if poller.deadline <= now { expired.append(poller); return true }
                    return false
                }
                taskQueues[name] = queue
                for poller in expired { poller.continuation.resume(returning: nil) }
            }
            if queue.workflowPollers.isEmpty && queue.activityPollers.isEmpty && queue.workflowTasks.isEmpty
                && queue.activityTasks.isEmpty
            {
                taskQueues[name] = nil
            }
        }
        expire(&historyWaiters, now: now)
        expire(&closeWaiters, now: now)
        for (id, query) in queries where query.deadline <= now {
            queries[id] = nil
            if let connectionId = query.connectionId { connections[connectionId]?.pendingQueries.remove(id) }
            if let runSeq = query.runSeq, let execution = executions[runSeq] {
                execution.queriesAwaitingTask.removeAll { $0 == id }
            }
            let waitingFor = query.connectionId.flatMap { connections[$0]?.handle.identity }
            let message =
                waitingFor.map {
                    "query \(query.query.queryType) on workflow \(query.query.workflowId) got no answer from worker \($0) in time"
                }
                ?? "query \(query.query.queryType) on workflow \(query.query.workflowId) timed out waiting for the workflow's pending task to complete; is a worker running?"
            query.answer.finish(.failure(OrchestratorError(.timeout, message)))
        }
    }

    private func expire<Value>(_ waiters: inout [Int64: [RunWaiter<Value>]], now: Timestamp) {
        for (runSeq, list) in waiters where list.contains(where: { $0.deadline <= now }) {
            var kept: [RunWaiter<Value>] = []
            for waiter in list {
                if waiter.deadline <= now {
                    waiter.continuation.resume(returning: nil)
                } else {
                    kept.append(waiter)
                }
            }
            waiters[runSeq] = kept.isEmpty ? nil : kept
        }
    }
}
