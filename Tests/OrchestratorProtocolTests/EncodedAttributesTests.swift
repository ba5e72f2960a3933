import Foundation
import OrchestratorProtocol
import Testing

@Suite("Events with their attributes encoded once")
struct EncodedAttributesTests {
    /// Every history event of the vectors that carry events.
    static func vectorEvents() throws -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        for vector in Vectors.messages where vector.kind == "server" {
            let message = try MessageCodec.decodeServerMessage(from: Array(vector.json.utf8))
            switch message {
            case .response(_, .pollWorkflowTask(let response)): events += response.task?.events ?? []
            case .response(_, .getWorkflowHistory(let response)): events += response.events
            default: break
            }
        }
        return events
    }

    @Test("a task whose events carry their encoded attributes is written byte for byte as one that does not")
    func splicedBytesAreCanonical() throws {
        let events = try Self.vectorEvents()
        #expect(events.count > 10)
        let encodedOnce = try events.map { event -> HistoryEvent in
            var copy = event
            try copy.encodeAttributesOnce()
            return copy
        }
        #expect(encodedOnce.allSatisfy { $0.encodedAttributes != nil })
        #expect(events.allSatisfy { $0.encodedAttributes == nil })
        #expect(try MessageCodec.encodeBytes(encodedOnce) == MessageCodec.encodeBytes(events))
        for (plain, cached) in zip(events, encodedOnce) {
            #expect(plain == cached)
            #expect(try MessageCodec.encodeBytes(cached) == MessageCodec.encodeBytes(plain))
        }
    }

    @Test("another encoder (Foundation's) sees the same attributes, and changing them drops the bytes")
    func foreignEncoderAndMutation() throws {
        var event = HistoryEvent(
            eventId: 7, eventTime: Timestamp(milliseconds: 1_700_000_000_000),
            attributes: .workflowExecutionSignaled(
                .init(signalName: "add-alert", input: ["alertID": "ALERT-001"], identity: "starter", requestId: nil)))
        try event.encodeAttributesOnce()
        let foundation = try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? NSDictionary
        let ours = try JSONSerialization.jsonObject(with: MessageCodec.encode(event)) as? NSDictionary
        #expect(foundation != nil && foundation == ours)
        event.attributes = .workflowExecutionSignaled(
            .init(signalName: "ack", input: ["responder": "alice"], identity: "starter", requestId: nil))
        #expect(event.encodedAttributes == nil)
        let text = try MessageCodec.encodeToString(event)
        #expect(text.contains(#""signalName":"ack""#) && !text.contains("add-alert"))
    }
}
