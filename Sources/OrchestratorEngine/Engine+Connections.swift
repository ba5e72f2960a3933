import DequeModule
import OrchestratorProtocol

extension Engine {
    /// Registers a connection that completed its handshake.
    public func connectionOpened(_ handle: any EngineConnection) {
        connections[handle.connectionId] = ConnectionState(handle: handle, now: clock.now())
    }

    /// Releases everything a connection held, at once: its workflow tasks go back to their queues
    /// (history records WorkflowTaskFailed with cause CONNECTION_CLOSED), its activity attempts are
    /// retried per their retry policies, its sticky runs go to any poller, its queries go elsewhere.
    public func connectionClosed(_ connectionId: UInt64) {
        guard let connection = connections.removeValue(forKey: connectionId) else { return }
        closeConnectionState(connection, reason: "connection \(connection.handle.identity) closed")
        scheduleCommit()
    }

    func closeConnectionState(_ connection: ConnectionState, reason: String) {
        let id = connection.id
        for name in Array(taskQueues.keys) {
            var queue = taskQueues[name]!
            var removed: [Poller<WorkflowTaskDelivery>] = []
            queue.workflowPollers.removeAll { poller in
                if poller.connectionId == id { removed.append(poller); return true }
                return false
            }
            var removedActivity: [Poller<ActivityTask>] = []
            queue.activityPollers.removeAll { poller in
                if poller.connectionId == id { removedActivity.append(poller); return true }
                return false
            }
            taskQueues[name] = queue
            for poller in removed { poller.continuation.resume(returning: nil) }
            for poller in removedActivity { poller.continuation.resume(returning: nil) }
        }
        let identity = connection.handle.identity
        for runSeq in connection.heldWorkflowTasks {
            // Only the task this connection still holds (another connection may have completed it).
            guard let execution = executions[runSeq], execution.isOpen,
                execution.workflowTask?.location == .started(id)
            else { continue }
            logger.info(
                "workflow task returned to its queue: the worker connection holding it closed",
                metadata: [
                    "workflowId": "\(execution.workflowId)", "runId": "\(execution.runId)", "worker": "\(identity)",
                ])
            failStartedWorkflowTask(
                execution, cause: .connectionClosed,
                failure: Failure(
                    message: "the worker connection \(identity) closed while it held the workflow task",
                    type: "ConnectionClosed"),
                identity: identity)
        }
        connection.heldWorkflowTasks.removeAll()
        for ref in connection.heldActivities {
            guard let execution = executions[ref.runSeq], execution.isOpen,
                let activity = execution.activities[ref.scheduledEventId], activity.attempt == ref.attempt,
                activity.startedConnection == id
            else { continue }
            logger.info(
                "activity attempt released: the worker connection holding it closed",
                metadata: [
                    "workflowId": "\(execution.workflowId)", "runId": "\(execution.runId)",
                    "activityId": "\(activity.activityId)", "attempt": "\(activity.attempt)", "worker": "\(identity)",
                ])
            failActivityAttempt(
                execution, activity,
                failure: Failure(
                    message: "the worker connection \(identity) closed while it ran attempt \(activity.attempt)",
                    type: "ConnectionClosed"),
                timeoutType: nil, retryAtOnce: true, identity: identity)
        }
        connection.heldActivities.removeAll()
        connection.queriedStickyTasks.removeAll()
        while let runSeq = connection.stickyTasks.popFirst() {
            guard let execution = executions[runSeq], let task = execution.workflowTask,
                task.location == .sticky(id)
            else { continue }
            execution.stickyConnection = nil
            enqueueWorkflowTask(execution)
        }
        for queryId in connection.pendingQueries {
            guard var query = queries[queryId] else { continue }
            query.connectionId = nil
            queries[queryId] = query
            if let runSeq = query.runSeq, let execution = executions[runSeq], execution.stickyConnection == id {
                execution.stickyConnection = nil
            }
            routeQuery(queryId)
        }
        connection.pendingQueries.removeAll()
        // Waits this connection asked for end now; nobody is left to answer.
        for (runSeq, list) in historyWaiters where list.contains(where: { $0.originConnectionId == id }) {
            historyWaiters[runSeq] = list.filter { $0.originConnectionId != id }.nilIfEmpty
            for waiter in list where waiter.originConnectionId == id { waiter.continuation.resume(returning: nil) }
        }
        for (runSeq, list) in closeWaiters where list.contains(where: { $0.originConnectionId == id }) {
            closeWaiters[runSeq] = list.filter { $0.originConnectionId != id }.nilIfEmpty
            for waiter in list where waiter.originConnectionId == id { waiter.continuation.resume(returning: nil) }
        }
        for (queryId, query) in queries where query.originConnectionId == id {
            queries[queryId] = nil
            if let target = query.connectionId { connections[target]?.pendingQueries.remove(queryId) }
            if let runSeq = query.runSeq { executions[runSeq]?.queriesAwaitingTask.removeAll { $0 == queryId } }
            query.answer.finish(
                .failure(OrchestratorError(.unavailable, "the connection that asked closed")))
        }
    }
}

extension Array {
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}
