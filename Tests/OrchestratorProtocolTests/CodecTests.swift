import Foundation
import NIOCore
import NIOTestUtils
import OrchestratorProtocol
import OrchestratorTransport
import Testing

@Suite("Message codec")
struct CodecTests {
    @Test("requests round-trip through canonical JSON")
    func requestRoundTrip() throws {
        let message = RequestMessage(
            id: 42,
            request: .startWorkflow(
                StartWorkflowRequest(
                    workflowId: "incident-payment-api", workflowType: "IncidentWorkflow",
                    taskQueue: "incident-task-queue",
                    input: ["service": "payment-api", "escalateAfterMs": 30000], requestId: "r-1")))
        let bytes = try MessageCodec.encode(message)
        #expect(try MessageCodec.decodeRequest(from: bytes) == message)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"body":{"input":{"escalateAfterMs":30000,"#))
    }

    @Test("a bad request is classified: malformed, unknown operation, or invalid body naming the field")
    func requestClassification() throws {
        func decode(_ text: String) -> RequestDecodingError? {
            do {
                _ = try MessageCodec.decodeRequest(from: Array(text.utf8))
                return nil
            } catch {
                return error
            }
        }
        #expect(decode("not json") == .malformed("the frame is not valid UTF-8 JSON"))
        #expect(decode("[1,2]").map { if case .malformed = $0 { true } else { false } } == true)
        #expect(decode(#"{"op":"ping","body":{}}"#).map { if case .malformed = $0 { true } else { false } } == true)
        #expect(
            decode(#"{"id":0,"op":"ping","body":{}}"#).map { if case .malformed = $0 { true } else { false } } == true)
        #expect(decode(#"{"id":3,"op":"launchMissiles","body":{}}"#) == .unknownOperation(id: 3, op: "launchMissiles"))
        let wrongType = decode(#"{"id":4,"op":"signalWorkflow","body":{"workflowId":7,"signalName":"x"}}"#)
        #expect(wrongType?.requestId == 4)
        #expect(wrongType?.error.code == .invalidArgument)
        #expect(
            wrongType?.error.message.contains("'workflowId' must be a string") == true,
            "\(String(describing: wrongType?.error.message))")
        let missing = decode(#"{"id":5,"op":"signalWorkflow","body":{"workflowId":"w"}}"#)
        #expect(
            missing?.error.message.contains("'signalName' is required") == true,
            "\(String(describing: missing?.error.message))")
        #expect(decode(#"{"id":6,"op":"ping","body":{},"extra":true}"#) == nil, "unknown keys are ignored")
    }

    @Test("deeply nested JSON is refused with a clear reason, never by crashing")
    func deepNesting() {
        for depth in [600, 10_000, 1_000_000] {
            let json =
                #"{"id":1,"op":"signalWorkflow","body":{"workflowId":"w","signalName":"s","input":"#
                + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}}"
            do {
                _ = try MessageCodec.decodeRequest(from: Array(json.utf8))
                Issue.record("depth \(depth) must be refused")
            } catch {
                #expect(error.error.code == .malformedFrame)
                #expect(error.error.message.contains("nest at most 64 levels"), "\(error.error.message)")
            }
        }
        // Between the request limit and the parser's: refused for that request, the connection stays.
        let medium =
            #"{"id":7,"op":"signalWorkflow","body":{"workflowId":"w","signalName":"s","input":"#
            + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}}"
        do {
            _ = try MessageCodec.decodeRequest(from: Array(medium.utf8))
            Issue.record("100 levels must be refused")
        } catch {
            #expect(error.requestId == 7)
            #expect(error.error.code == .invalidArgument)
        }
        let shallow =
            #"{"id":1,"op":"signalWorkflow","body":{"workflowId":"w","signalName":"s","input":"#
            + String(repeating: "[", count: 50) + String(repeating: "]", count: 50) + "}}"
        #expect(throws: Never.self) { _ = try MessageCodec.decodeRequest(from: Array(shallow.utf8)) }
    }

    @Test("server messages round-trip: response, error, push")
    func serverMessages() throws {
        let messages: [ServerMessage] = [
            .response(id: 1, .startWorkflow(StartWorkflowResponse(runId: "r", started: true))),
            .error(id: 2, OrchestratorError(.notFound, "workflow x not found", details: ["workflowId": "x"])),
            .push(
                .workflowQuery(
                    WorkflowQuery(
                        queryId: "q1", workflowId: "w", runId: "r", workflowType: "T", taskQueue: "q",
                        queryType: "status", args: nil))),
        ]
        for message in messages {
            #expect(try MessageCodec.decodeServerMessage(from: try MessageCodec.encode(message)) == message)
        }
    }

    @Test("history events and commands round-trip with their Temporal names")
    func eventsAndCommands() throws {
        let event = HistoryEvent(
            eventId: 5, eventTime: Timestamp(milliseconds: 1_763_800_000_125),
            attributes: .timerStarted(
                .init(timerId: "escalation-1", startToFireTimeoutMs: 30_000, workflowTaskCompletedEventId: 4)))
        let text = try MessageCodec.encodeToString(event)
        #expect(
            text
                == #"{"attributes":{"startToFireTimeoutMs":30000,"timerId":"escalation-1","workflowTaskCompletedEventId":4},"eventId":5,"eventTime":"2025-11-22T08:26:40.125Z","eventType":"TimerStarted"}"#
        )
        #expect(try MessageCodec.decode(HistoryEvent.self, from: Array(text.utf8)) == event)
        let command = Command.scheduleActivityTask(
            .init(
                activityId: "1", activityType: "NotifyActivity", startToCloseTimeoutMs: 10_000,
                retryPolicy: RetryPolicy(initialIntervalMs: 1_000, maximumAttempts: 5)))
        let encoded = try MessageCodec.encode(command)
        #expect(try MessageCodec.decode(Command.self, from: encoded) == command)
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""commandType":"ScheduleActivityTask""#))
    }

    @Test("timestamps are ISO 8601 UTC with milliseconds, and parse back")
    func timestamps() {
        for millis: Int64 in [0, 1, 999, 1_763_800_000_125, 951_782_400_000 /* 2000-02-29 */, -1, 4_102_444_800_000] {
            let time = Timestamp(milliseconds: millis)
            #expect(Timestamp(iso8601: time.iso8601) == time, "\(time.iso8601)")
        }
        #expect(Timestamp(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 951_782_400_000).iso8601 == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp(milliseconds: 1_764_635_730_007).iso8601 == "2025-12-02T00:35:30.007Z")
        #expect(Timestamp(milliseconds: 253_402_300_799_999).iso8601 == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp(milliseconds: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(
            Timestamp(iso8601: "2026-11-22T10:15:30Z")?.milliseconds
                == Timestamp(iso8601: "2026-11-22T10:15:30.000Z")?.milliseconds)
        #expect(Timestamp(iso8601: "2026-11-22T10:15:30.1234567Z") == Timestamp(iso8601: "2026-11-22T10:15:30.123Z"))
        for bad in ["", "2026-13-01T00:00:00Z", "2026-11-22 10:15:30Z", "2026-11-22T10:15:30", "2026-11-22T10:15:30.Z"]
        {
            #expect(Timestamp(iso8601: bad) == nil, "\(bad)")
        }
    }

    @Test("retry policy: defaults, delays and limits")
    func retryPolicy() {
        let policy = RetryPolicy()
        #expect(policy.delayAfter(attempt: 1) == 1_000)
        #expect(policy.delayAfter(attempt: 2) == 2_000)
        #expect(policy.delayAfter(attempt: 20) == 100_000, "capped at 100 × the initial interval")
        let limited = RetryPolicy(
            initialIntervalMs: 200, backoffCoefficient: 3, maximumIntervalMs: 1_000, maximumAttempts: 3,
            nonRetryableErrorTypes: ["Bad"])
        #expect(limited.delayAfter(attempt: 2) == 600)
        #expect(limited.delayAfter(attempt: 3) == 1_000)
        #expect(limited.allowsRetry(after: 2, failure: Failure(message: "x")))
        #expect(!limited.allowsRetry(after: 3, failure: Failure(message: "x")))
        #expect(!limited.allowsRetry(after: 1, failure: Failure(message: "x", type: "Bad")))
        #expect(!limited.allowsRetry(after: 1, failure: Failure(message: "x", nonRetryable: true)))
    }

    @Test("JSON values keep integers, doubles, nesting and unicode")
    func jsonValues() throws {
        let value: JSONValue = [
            "int": 9_007_199_254_740_993, "double": 1.5, "list": [true, nil, "ü😀"], "nested": ["a": []],
        ]
        let text = value.jsonText
        #expect(try JSONValue(jsonText: text) == value)
        #expect(value["int"]?.intValue == 9_007_199_254_740_993)
    }

    @Test("object members are written in the order of their keys' UTF-8 bytes, at every size")
    func objectKeyOrder() throws {
        let special = ["", "a", "ab", "b", "B", "Z", "a b", "é", "z", "ü", "😀", "\u{7f}", "0", "-"]
        for count in [0, 1, 2, 3, 8, 14, 40] {
            var keys = Array(special.prefix(count))
            while keys.count < count { keys.append("k\(keys.count * 7919 % 100)-\(keys.count)") }
            let object = JSONValue.object(
                Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, .int(Int64($0))) }))
            let text = object.jsonText
            let sorted = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let expected = sorted.map { key in "\(JSONValue.string(key).jsonText):\(object[key]!.jsonText)" }
            #expect(text == "{" + expected.joined(separator: ",") + "}", "\(count) keys")
        }
    }
}

@Suite("Framing")
struct FramingTests {
    func frame(_ text: String) -> ByteBuffer {
        ByteBuffer(bytes: Frame.encode(body: Array(text.utf8)))
    }

    @Test("the decoder yields the same frames however the bytes are split across reads")
    func everySplit() throws {
        let bodies = [#"{"id":1,"op":"ping","body":{}}"#, #"{"id":2,"op":"ping","body":{"x":"ü"}}"#, "x"]
        var input = ByteBuffer()
        for body in bodies { input.writeBytes(Frame.encode(body: Array(body.utf8))) }
        let expected = bodies.map { ByteBuffer(string: $0) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, expected)],
            decoderFactory: { FrameDecoder() })
        for body in bodies {
            try ByteToMessageDecoderVerifier.verifyDecoder(
                inputOutputPairs: [(frame(body), [ByteBuffer(string: body)])], decoderFactory: { FrameDecoder() })
        }
    }

    @Test("a zero length is MALFORMED_FRAME; a length over the maximum is FRAME_TOO_LARGE before any body byte")
    func badLengths() throws {
        var decoder = FrameDecoder(maximumFrameLength: 1024)
        var zero = ByteBuffer(bytes: [0, 0, 0, 0])
        #expect(throws: OrchestratorError.self) { _ = try decoder.decode(buffer: &zero) }
        var huge = ByteBuffer(bytes: [0x06, 0x40, 0, 0])  // 100 MiB
        do {
            _ = try decoder.decode(buffer: &huge)
            Issue.record("a 100 MiB prefix must be refused")
        } catch let error as OrchestratorError {
            #expect(error.code == .frameTooLarge)
        }
        var exactlyMax = ByteBuffer(bytes: [0, 0, 0x04, 0])
        #expect(try decoder.decode(buffer: &exactlyMax) == nil, "1024 is allowed; it waits for the body")
    }

    @Test("a stream that ends inside a frame is MALFORMED_FRAME")
    func truncated() throws {
        var decoder = FrameDecoder()
        var partial = ByteBuffer(bytes: [0, 0, 0, 10, 1, 2, 3])
        #expect(try decoder.decode(buffer: &partial) == nil)
        do {
            _ = try decoder.decodeLast(buffer: &partial, seenEOF: true)
            Issue.record("a truncated frame must be an error")
        } catch let error as OrchestratorError {
            #expect(error.code == .malformedFrame)
        }
    }
}
