import Foundation
import OrchestratorClient
import OrchestratorProtocol
import OrchestratorServer
import OrchestratorTesting
import OrchestratorTransport
import Testing

@Suite("Pipelined requests", .serialized)
struct PipeliningTests {
    static func signal(_ id: Int, _ number: Int) -> [UInt8] {
        Frame.encode(
            body: Array(
                #"{"id":\#(id),"op":"signalWorkflow","body":{"workflowId":"pipelined","signalName":"n","input":\#(number)}}"#
                    .utf8))
    }

    /// Reads `count` answers; returns the ids of the errors among them.
    static func answers(_ count: Int, from raw: RawConnection) async throws -> [UInt64] {
        var errors: [UInt64] = []
        for _ in 0..<count {
            switch try #require(try await raw.nextMessage()) {
            case .error(let id, _): errors.append(id)
            case .response, .push: break
            }
        }
        return errors
    }

    @Test(
        "requests written behind the hello, around a frame that does not decode, are applied in the order they were sent"
    )
    func orderKept() async throws {
        let server = try await TestServer.start()
        defer { server.remove() }
        let client = try await server.connect()
        _ = try await client.send(StartWorkflowRequest(workflowId: "pipelined", workflowType: "T", taskQueue: "q"))
        let raw = try await RawConnection.connect(to: server.address)
        let bad = Frame.encode(body: Array(#"{"id":500,"op":"noSuchOperation","body":{}}"#.utf8))
        // One write: the hello, 20 signals, a frame the server cannot serve, 20 more signals; then a
        // second write at once, without waiting for any answer.
        var first = Frame.encode(
            body: Array(
                try MessageCodec.encode(
                    RequestMessage(id: 1, request: .hello(HelloRequest(identity: "pipelining"))))))
        for n in 0..<20 { first += Self.signal(2 + n, n) }
        first += bad
        for n in 20..<40 { first += Self.signal(2 + n, n) }
        try await raw.send(bytes: first)
        var second: [UInt8] = []
        for n in 40..<60 { second += Self.signal(2 + n, n) }
        try await raw.send(bytes: second)
        #expect(try await Self.answers(62, from: raw) == [500])
        // Once the connection is served: 20 signals, the bad frame, 20 more, in one write.
        var third: [UInt8] = []
        for n in 60..<80 { third += Self.signal(2 + n, n) }
        third += bad
        for n in 80..<100 { third += Self.signal(2 + n, n) }
        try await raw.send(bytes: third)
        #expect(try await Self.answers(41, from: raw) == [500])
        let history = try await client.send(GetWorkflowHistoryRequest(workflowId: "pipelined"))
        let numbers = history.events.compactMap { event -> Int? in
            guard case .workflowExecutionSignaled(let signal) = event.attributes, case .int(let n)? = signal.input
            else { return nil }
            return Int(n)
        }
        #expect(numbers == Array(0..<100))
        await raw.close()
        await server.stop()
    }
}
