import Foundation
import OrchestratorProtocol
import Testing

/// Payloads are encoded straight to `JSONValue` with no text in between; what they give must be what
/// Foundation's `JSONEncoder` text, parsed by the protocol, gives, and reading back must agree with
/// `JSONDecoder`.
@Suite("Payloads without text")
struct PayloadCodingTests {
    struct Everything: Codable, Equatable {
        var text = "caf\u{e9} \"quoted\" / \n"
        var integer = -42
        var big: UInt64 = 1 << 40
        var small: Int8 = -8
        var integralDouble = 2.0
        var fraction = 0.1
        var huge = 1e20
        var float: Float = 0.1
        var flag = true
        var absent: String? = nil
        var present: Int? = 7
        var date = Date(timeIntervalSinceReferenceDate: 1_234.5)
        var data = Data([0, 1, 2, 250, 255])
        var url = URL(string: "https://example.com/a?b=c")!
        var decimal = Decimal(string: "12.25")!
        var list: [Int] = [1, 2, 3]
        var nested: [String: [String: Double]] = ["a": ["b": 1.5, "c": 3]]
        var optionalData: Data? = Data("hi".utf8)
        var level = Level.high
        var set: Set<String> = ["one"]

        enum Level: String, Codable { case low, high }
    }

    class Base: Codable {
        var base = 1
    }

    final class Derived: Base {
        var derived = "d"
        enum CodingKeys: String, CodingKey { case derived }
        override init() { super.init() }
        required init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            derived = try container.decode(String.self, forKey: .derived)
            try super.init(from: container.superDecoder())
        }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(derived, forKey: .derived)
            try super.encode(to: container.superEncoder())
        }
    }

    func throughFoundation<T: Encodable>(_ value: T) throws -> JSONValue {
        try MessageCodec.decode(JSONValue.self, from: try JSONEncoder().encode(value))
    }

    @Test("encoding gives the value Foundation's text parses to")
    func encodingMatchesFoundation() throws {
        let value = Everything()
        #expect(try MessageCodec.payload(from: value) == (try throughFoundation(value)))
        #expect(try MessageCodec.payload(from: Derived()) == (try throughFoundation(Derived())))
        #expect(try MessageCodec.payload(from: [1.0, 2.5]) == (try throughFoundation([1.0, 2.5])))
        #expect(try MessageCodec.payload(from: UInt64.max) == (try throughFoundation(UInt64.max)))
        #expect(try MessageCodec.payload(from: "plain") == .string("plain"))
        #expect(try MessageCodec.payload(from: Data([1, 2])) == .string("AQI="))
        #expect(try MessageCodec.payload(from: Optional<Int>.none) == .null)
    }

    @Test("decoding reads back what Foundation reads, Date, Data, URL and Decimal included")
    func decodingMatchesFoundation() throws {
        let payload = try MessageCodec.payload(from: Everything())
        let fast = try MessageCodec.decode(Everything.self, fromPayload: payload)
        let foundation = try JSONDecoder().decode(Everything.self, from: try MessageCodec.encode(payload))
        #expect(fast == foundation)
        #expect(fast == Everything())
        let derived = try MessageCodec.decode(Derived.self, fromPayload: try MessageCodec.payload(from: Derived()))
        #expect(derived.derived == "d" && derived.base == 1)
    }

    @Test("a payload that does not fit names the member, as JSONDecoder does")
    func mismatchNamesTheMember() throws {
        var payload = try MessageCodec.payload(from: Everything())
        guard case .object(var members) = payload else { Issue.record("not an object"); return }
        members["data"] = .string("not base64!")
        payload = .object(members)
        #expect {
            try MessageCodec.decode(Everything.self, fromPayload: payload)
        } throws: { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["data"]
        }
        members["data"] = .int(3)
        #expect {
            try MessageCodec.decode(Everything.self, fromPayload: .object(members))
        } throws: { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["data"]
        }
    }

    @Test("non-finite numbers are refused")
    func nonFiniteRefused() {
        #expect(throws: EncodingError.self) { try MessageCodec.payload(from: Double.nan) }
        #expect(throws: EncodingError.self) { try MessageCodec.payload(from: ["x": Double.infinity]) }
    }
}
