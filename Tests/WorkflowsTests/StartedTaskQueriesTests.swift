import OrchestratorProtocol
import Testing

@testable import WorkerRuntime

@Suite("Queries pushed for a started workflow task (the worker's side)")
struct StartedTaskQueriesTests {
    func query(_ id: String, token: String?) -> WorkflowQuery {
        WorkflowQuery(
            queryId: id, workflowId: "wf", runId: "run", workflowType: "T", taskQueue: "q", queryType: "status",
            args: nil, taskToken: token)
    }

    @Test("a query without a token is answered at once")
    func noToken() {
        #expect(StartedTaskQueries().arrived(query("q1", token: nil)) == .answerNow)
    }

    @Test("pushed while its task runs: held, and handed over when the task finishes")
    func whileRunning() {
        let inbox = StartedTaskQueries()
        #expect(inbox.taskStarted("wt.1.2.3").isEmpty)
        #expect(inbox.arrived(query("q1", token: "wt.1.2.3")) == .held)
        #expect(inbox.arrived(query("q2", token: "wt.1.2.3")) == .held)
        #expect(inbox.taskFinished("wt.1.2.3").map(\.queryId) == ["q1", "q2"])
    }

    @Test("pushed before its task arrives: held, and handed over when the task starts, not to another task")
    func beforeTask() {
        let inbox = StartedTaskQueries()
        #expect(inbox.arrived(query("q1", token: "wt.1.2.3")) == .held)
        #expect(inbox.taskStarted("wt.9.2.3").isEmpty)
        #expect(inbox.taskStarted("wt.1.2.3").map(\.queryId) == ["q1"])
        #expect(inbox.taskFinished("wt.1.2.3").isEmpty)
    }

    @Test("pushed after its task finished: answered at once, from the state after it")
    func afterTask() {
        let inbox = StartedTaskQueries()
        _ = inbox.taskStarted("wt.1.2.3")
        _ = inbox.taskFinished("wt.1.2.3")
        #expect(inbox.arrived(query("q1", token: "wt.1.2.3")) == .answerNow)
        #expect(inbox.taskFinished("wt.1.2.3").isEmpty)
    }

    @Test("only the newest finished tasks are remembered")
    func bounded() {
        let inbox = StartedTaskQueries(memory: 2)
        for n in 1...3 {
            _ = inbox.taskStarted("wt.\(n).2.3")
            _ = inbox.taskFinished("wt.\(n).2.3")
        }
        #expect(inbox.arrived(query("q3", token: "wt.3.2.3")) == .answerNow)
        #expect(inbox.arrived(query("q2", token: "wt.2.2.3")) == .answerNow)
        // The oldest is forgotten: a push for it is taken for one that comes before its task.
        #expect(inbox.arrived(query("q1", token: "wt.1.2.3")) == .held)
    }
}
