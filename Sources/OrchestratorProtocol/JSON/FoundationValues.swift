import Foundation

/// Foundation types that `JSONEncoder` and `JSONDecoder` write in a form of their own rather than
/// through their `Codable` conformance: `Data` as base64 text, `URL` as its absolute string,
/// `Decimal` as a plain number. The protocol's coders do the same, so that an author's type reads
/// and writes the same JSON through either.
enum FoundationValues {
    /// The encoded form of `value` when its type is one of those, else nil.
    static func encode<T>(_ value: T) -> EncodedValue? {
        if T.self == Data.self {
            return .string(unsafeBitCast(value, to: Data.self).base64EncodedString())
        }
        if T.self == URL.self {
            return .string((value as! URL).absoluteString)
        }
        if T.self == Decimal.self {
            return number(text: (value as! Decimal).description)
        }
        return nil
    }

    /// A number written as `text` (as Foundation writes a Decimal), in the form the parser gives it.
    private static func number(text: String) -> EncodedValue {
        if let integer = Int64(text) { return .int(integer) }
        if let unsigned = UInt64(text) { return .uint(unsigned) }
        return .double(Double(text) ?? .nan)
    }

    /// `node` read as one of those types when `T` is one, else nil.
    static func decode<T>(_ type: T.Type, from node: JSONNode, path: @autoclosure () -> [any CodingKey]) throws -> T? {
        if T.self == Data.self {
            let text = try NodeDecoder.string(node, path: path())
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: path(), debugDescription: "Encountered Data is not valid Base64."))
            }
            return (data as! T)
        }
        if T.self == URL.self {
            let text = try NodeDecoder.string(node, path: path())
            guard let url = URL(string: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path(), debugDescription: "Invalid URL string."))
            }
            return (url as! T)
        }
        if T.self == Decimal.self {
            guard case .number(let number) = node else {
                throw NodeDecoder.failure(Decimal.self, node, path: path())
            }
            guard let decimal = Decimal(string: number.description, locale: Locale(identifier: "en_US_POSIX")) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: path(), debugDescription: "Number \(number.description) is not a Decimal."))
            }
            return (decimal as! T)
        }
        return nil
    }
}

extension EncodedValue {
    /// The value as a payload, exactly as writing it and parsing the text back would give it:
    /// integral doubles become integers, of a key encoded twice the last wins.
    func jsonValue() throws(JSONWriteError) -> JSONValue {
        switch self {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .int(number)
        case .uint(let number): return number <= UInt64(Int64.max) ? .int(Int64(number)) : .double(Double(number))
        case .double(let number):
            guard number.isFinite else { throw JSONWriteError(message: "\(number) is not a valid JSON number") }
            let text = JSONWriter.text(of: number)
            if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }),
                let integer = Int64(text)
            {
                return .int(integer)
            }
            return .double(number)
        case .string(let text): return .string(text)
        case .payload(let value): return value
        case .raw(let text):
            do {
                return try MessageCodec.decode(JSONValue.self, from: text)
            } catch {
                throw JSONWriteError(message: "passed-through JSON is not valid: \(error)")
            }
        case .array(let box):
            var items: [JSONValue] = []
            items.reserveCapacity(box.items.count)
            for item in box.items { items.append(try item.jsonValue()) }
            return .array(items)
        case .object(let box):
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(box.members.count)
            for member in box.members { members[member.key] = try member.value.jsonValue() }
            return .object(members)
        case .deferred(let encoder):
            return try (encoder.value ?? .object(ObjectBox(capacity: 0))).jsonValue()
        }
    }
}

extension JSONValue {
    /// The value as a parsed document, for the decoder.
    var node: JSONNode {
        switch self {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .int(let number): .number(.int(number))
        case .double(let number): .number(.double(number))
        case .string(let text): .string(text)
        case .array(let items): .array(items.map(\.node))
        case .object(let members): .object(members.map { (key: $0.key, value: $0.value.node) })
        }
    }
}

extension MessageCodec {
    /// Encodes a value straight to a payload, without writing text: the same `JSONValue` that
    /// encoding it to JSON and parsing the text would give (Data as base64, URL as a string, dates as
    /// Foundation's default seconds since 2001).
    public static func payload<T: Encodable>(from value: T) throws -> JSONValue {
        if T.self == JSONValue.self { return unsafeBitCast(value, to: JSONValue.self) }
        let encoded: EncodedValue
        if let special = FoundationValues.encode(value) {
            encoded = special
        } else {
            let encoder = ValueEncoder()
            try value.encode(to: encoder)
            encoded = encoder.value ?? .object(ObjectBox(capacity: 0))
        }
        do {
            return try encoded.jsonValue()
        } catch {
            throw error.encodingError(value)
        }
    }

    /// Decodes a value straight from a payload, without reading text.
    public static func decode<T: Decodable>(_ type: T.Type, fromPayload payload: JSONValue) throws -> T {
        if T.self == JSONValue.self { return unsafeBitCast(payload, to: T.self) }
        return try decode(T.self, from: payload.node)
    }
}
