import Testing

@testable import OrchestratorProtocol

/// The server's answers built directly give Codable's bytes, byte for byte.
@Suite("Direct messages")
struct DirectMessageTests {
    static let task = WorkflowTask(
        taskToken: "wt:1:5:1", workflowId: "incident-payment-api", runId: "r-1", workflowType: "Incident",
        taskQueue: "incidents", attempt: 1, previousStartedEventId: 3, startedEventId: 5,
        events: [
            HistoryEvent(
                eventId: 4, eventTime: Timestamp(milliseconds: 1_764_650_000_123),
                attributes: .workflowExecutionSignaled(
                    .init(signalName: "ack", input: ["responder": "alice"], identity: "cli", requestId: "q-1")))
        ],
        queries: nil)

    static let messages: [ServerMessage] = [
        .response(id: 1, .ping(Empty())),
        .response(id: 2, .signalWorkflow(SignalWorkflowResponse(runId: "r-\"1\""))),
        .response(id: 3, .startWorkflow(StartWorkflowResponse(runId: "r-1", started: true))),
        .response(id: 4, .signalWithStartWorkflow(StartWorkflowResponse(runId: "r-1", started: false))),
        .response(id: 5, .requestCancelWorkflow(RunResponse(runId: "r-1"))),
        .response(id: 6, .terminateWorkflow(RunResponse(runId: "r-1"))),
        .response(id: 7, .queryWorkflow(QueryWorkflowResponse(runId: "r-1", result: ["state": "OPEN", "n": 2.5]))),
        .response(id: 8, .queryWorkflow(QueryWorkflowResponse(runId: "r-1", result: nil))),
        .response(id: 9, .pollWorkflowTask(PollWorkflowTaskResponse(task: nil))),
        .response(id: 10, .pollWorkflowTask(PollWorkflowTaskResponse(task: task))),
        .response(id: 11, .completeWorkflowTask(CompleteWorkflowTaskResponse())),
        .response(id: 12, .completeWorkflowTask(CompleteWorkflowTaskResponse(workflowTask: task))),
        .response(id: 13, .completeActivityTask(Empty())),
        .response(id: 14, .failActivityTask(Empty())),
        .response(id: 15, .cancelActivityTask(Empty())),
        .response(id: 16, .failWorkflowTask(Empty())),
        .response(id: UInt64.max, .respondQuery(Empty())),
        .error(id: 17, OrchestratorError(.notFound, "no such workflow")),
    ]

    @Test("each answer", arguments: messages)
    func answer(_ message: ServerMessage) throws {
        #expect(try MessageCodec.encodeBytes(message) == MessageCodec.encodeBytesThroughCodable(message))
    }

    @Test("the protocol's response vectors")
    func vectors() throws {
        var compared = 0
        for vector in Vectors.messages where vector.kind == "server" {
            let message = try MessageCodec.decodeServerMessage(from: Array(vector.json.utf8))
            #expect(try MessageCodec.encodeBytes(message) == Array(vector.json.utf8), "\(vector.name)")
            #expect(
                try MessageCodec.encodeBytesThroughCodable(message) == Array(vector.json.utf8), "\(vector.name)")
            compared += 1
        }
        #expect(compared > 5)
    }
}
