import DequeModule
import OrchestratorProtocol
import Synchronization

/// Queries the server pushed with the token of a workflow task this worker holds
/// (`WorkflowQuery.taskToken`, Protocol §9.8): each is answered from the state right after that
/// task's events, in the task's completion if it is still running, else at once.
///
/// A push and the task it names travel separately, so a push may come first: it is held until the
/// task arrives. Tasks finished lately are remembered (the newest `memory`), so a push that comes
/// after its task's completion went out is answered at once rather than held.
final class StartedTaskQueries: Sendable {
    /// What to do with a pushed query.
    enum Disposition: Equatable {
        /// Its task is running (or has not arrived): it goes out with the task's completion.
        case held
        /// Its task is finished: answer it now, from the state after the task (or a later one).
        case answerNow
    }

    private struct State {
        var running: [String: [WorkflowQuery]] = [:]
        var early: [String: [WorkflowQuery]] = [:]
        var earlyOrder: Deque<String> = []
        var finished: Set<String> = []
        var finishedOrder: Deque<String> = []
    }

    private let state = Mutex(State())
    private let memory: Int

    init(memory: Int = 4096) {
        self.memory = max(1, memory)
    }

    /// A pushed query with a task token arrived.
    func arrived(_ query: WorkflowQuery) -> Disposition {
        guard let token = query.taskToken else { return .answerNow }
        return state.withLock { state in
            if state.running[token] != nil {
                state.running[token]!.append(query)
                return .held
            }
            if state.finished.contains(token) { return .answerNow }
            if state.early[token] == nil {
                state.earlyOrder.append(token)
                if state.earlyOrder.count > memory, let oldest = state.earlyOrder.popFirst() {
                    // A task that never came (its poll was cancelled): the server times the query out.
                    state.early[oldest] = nil
                }
            }
            state.early[token, default: []].append(query)
            return .held
        }
    }

    /// The task named `token` arrived and runs now; returns the queries pushed for it before.
    func taskStarted(_ token: String) -> [WorkflowQuery] {
        state.withLock { state in
            let early = state.early.removeValue(forKey: token) ?? []
            state.running[token] = []
            return early
        }
    }

    /// The task's commands are computed and its completion is about to go out (or it failed);
    /// returns the queries pushed for it while it ran. Later pushes for it are answered at once.
    func taskFinished(_ token: String) -> [WorkflowQuery] {
        state.withLock { state in
            let late = state.running.removeValue(forKey: token) ?? []
            if state.finished.insert(token).inserted {
                state.finishedOrder.append(token)
                if state.finishedOrder.count > memory, let oldest = state.finishedOrder.popFirst() {
                    state.finished.remove(oldest)
                }
            }
            return late
        }
    }
}
