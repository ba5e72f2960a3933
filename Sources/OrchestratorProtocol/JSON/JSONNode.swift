/// A parsed JSON document, as the decoder reads it.
///
/// Objects keep their members in order (so the first of two equal keys wins, as the protocol
/// documents), and numbers keep 64-bit integers exact, unsigned ones included.
enum JSONNode {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONNode])
    case object([(key: String, value: JSONNode)])

    /// What the node is, for error messages: "a string", "null".
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The node as a payload value. Integral numbers in the range of Int64 are integers, everything
    /// else a double; of repeated keys the first wins.
    var jsonValue: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .number(.int(let value)): return .int(value)
        case .number(.uint(let value)): return .double(Double(value))
        case .number(.double(let value)): return .double(value)
        case .string(let value): return .string(value)
        case .array(let items):
            return .array(items.map(\.jsonValue))
        case .object(let members):
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(members.count)
            for member in members where object[member.key] == nil {
                object[member.key] = member.value.jsonValue
            }
            return .object(object)
        }
    }
}

/// A JSON number: exact when it is an integer that fits 64 bits.
enum JSONNumber {
    case int(Int64)
    case uint(UInt64)
    case double(Double)

    var description: String {
        switch self {
        case .int(let value): String(value)
        case .uint(let value): String(value)
        case .double(let value): JSONWriter.text(of: value)
        }
    }
}
