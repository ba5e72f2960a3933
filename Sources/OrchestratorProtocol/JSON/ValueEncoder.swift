import Foundation

/// What an `Encodable` value encodes to, before it is written as text.
enum EncodedValue {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case payload(JSONValue)
    /// Canonical JSON text written before, passed through as it is.
    case raw([UInt8])
    case array(ArrayBox)
    case object(ObjectBox)
    /// A `superEncoder` whose value is known only once its user is done with it.
    case deferred(ValueEncoder)
}

/// The members of an object being encoded.
final class ObjectBox {
    var members: [(key: String, value: EncodedValue)] = []

    /// Room for `capacity` members in one allocation (most objects fit the default), instead of
    /// growing 1, 2, 4, 8; 0 for an object known to stay empty.
    init(capacity: Int = 8) {
        members.reserveCapacity(capacity)
    }

    /// Members sorted by the UTF-8 bytes of their keys; of a key encoded twice the last wins.
    func sortedMembers() -> [(key: String, value: EncodedValue)] {
        if members.count < 2 { return members }
        // Types often encode their keys in order already; then there is nothing to sort.
        var ordered = true
        for index in 1..<members.count where !JSONKeys.precedes(members[index - 1].key, members[index].key) {
            ordered = false
            break
        }
        if ordered { return members }
        // Objects are small: an insertion sort, stable, so of a key encoded twice the later stays later.
        var sorted = members
        for index in 1..<sorted.count {
            let member = sorted[index]
            var position = index
            while position > 0 && JSONKeys.precedes(member.key, sorted[position - 1].key) {
                sorted[position] = sorted[position - 1]
                position -= 1
            }
            if position != index { sorted[position] = member }
        }
        var repeated = false
        for index in 1..<sorted.count where sorted[index - 1].key == sorted[index].key {
            repeated = true
            break
        }
        if !repeated { return sorted }
        var result: [(key: String, value: EncodedValue)] = []
        result.reserveCapacity(sorted.count)
        for member in sorted {
            if let last = result.last, last.key == member.key {
                result[result.count - 1] = member
            } else {
                result.append(member)
            }
        }
        return result
    }
}

/// The canonical order of object keys.
enum JSONKeys {
    /// Whether `lhs` sorts strictly before `rhs` by their UTF-8 bytes.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs
        var rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                let common = min(left.count, right.count)
                if common > 0, let a = left.baseAddress, let b = right.baseAddress {
                    let order = memcmp(a, b, common)
                    if order != 0 { return order < 0 }
                }
                return left.count < right.count
            }
        }
    }
}

/// The items of an array being encoded.
final class ArrayBox {
    var items: [EncodedValue] = []
}

/// An `Encoder` that builds an `EncodedValue` tree; `JSONWriter` turns it into text.
final class ValueEncoder: Encoder {
    private let parent: ValueEncoder?
    private let key: (any CodingKey)?
    var value: EncodedValue?

    init(parent: ValueEncoder? = nil, key: (any CodingKey)? = nil) {
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var keys: [any CodingKey] = []
        var node: ValueEncoder? = self
        while let current = node {
            if let key = current.key { keys.append(key) }
            node = current.parent
        }
        return keys.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box: ObjectBox
        if case .object(let existing)? = value {
            box = existing
        } else {
            box = ObjectBox()
            value = .object(box)
        }
        return KeyedEncodingContainer(KeyedValueEncodingContainer<Key>(encoder: self, box: box))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box: ArrayBox
        if case .array(let existing)? = value {
            box = existing
        } else {
            box = ArrayBox()
            value = .array(box)
        }
        return UnkeyedValueEncodingContainer(encoder: self, box: box)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    /// Encodes `value` found under `key` of this encoder's value.
    func encode<T: Encodable>(_ value: T, key: (any CodingKey)?) throws -> EncodedValue {
        // Metatype comparisons are cheap where dynamic casts are not.
        if T.self == JSONValue.self { return .payload(unsafeBitCast(value, to: JSONValue.self)) }
        if T.self == String.self { return .string(unsafeBitCast(value, to: String.self)) }
        if T.self == Int64.self { return .int(unsafeBitCast(value, to: Int64.self)) }
        if T.self == RawJSON.self { return .raw(unsafeBitCast(value, to: RawJSON.self).bytes) }
        // The hottest nested values are built without Codable's containers (the same bytes; tests
        // compare them with the Codable path, which encodes them at the top level).
        if T.self == HistoryEvent.self, let direct = unsafeBitCast(value, to: HistoryEvent.self).directlyEncoded {
            return direct
        }
        if T.self == WorkflowTask.self {
            return try unsafeBitCast(value, to: WorkflowTask.self).directlyEncoded(by: self)
        }
        if let special = FoundationValues.encode(value) { return special }
        let child = ValueEncoder(parent: self, key: key)
        try value.encode(to: child)
        return child.value ?? .object(ObjectBox(capacity: 0))
    }

    /// A Float as the double its shortest text denotes (0.1, not 0.10000000149011612), as Foundation writes it.
    static func double(_ value: Float) -> Double {
        value.isFinite ? Double(value.description) ?? Double(value) : Double(value)
    }

    func checked(_ double: Double, key: (any CodingKey)?) throws -> EncodedValue {
        guard double.isFinite else {
            var path = codingPath
            if let key { path.append(key) }
            throw EncodingError.invalidValue(
                double, .init(codingPath: path, debugDescription: "\(double) is not a valid JSON number"))
        }
        return .double(double)
    }
}

extension ValueEncoder: SingleValueEncodingContainer {
    func encodeNil() throws { value = .null }
    func encode(_ value: Bool) throws { self.value = .bool(value) }
    func encode(_ value: String) throws { self.value = .string(value) }
    func encode(_ value: Double) throws { self.value = try checked(value, key: nil) }
    func encode(_ value: Float) throws { self.value = try checked(Self.double(value), key: nil) }
    func encode(_ value: Int) throws { self.value = .int(Int64(value)) }
    func encode(_ value: Int8) throws { self.value = .int(Int64(value)) }
    func encode(_ value: Int16) throws { self.value = .int(Int64(value)) }
    func encode(_ value: Int32) throws { self.value = .int(Int64(value)) }
    func encode(_ value: Int64) throws { self.value = .int(value) }
    func encode(_ value: UInt) throws { self.value = .uint(UInt64(value)) }
    func encode(_ value: UInt8) throws { self.value = .uint(UInt64(value)) }
    func encode(_ value: UInt16) throws { self.value = .uint(UInt64(value)) }
    func encode(_ value: UInt32) throws { self.value = .uint(UInt64(value)) }
    func encode(_ value: UInt64) throws { self.value = .uint(value) }
    func encode<T: Encodable>(_ value: T) throws {
        if T.self == JSONValue.self {
            self.value = .payload(unsafeBitCast(value, to: JSONValue.self))
            return
        }
        if let special = FoundationValues.encode(value) {
            self.value = special
            return
        }
        // The value encodes itself into this same encoder (its containers replace this value).
        try value.encode(to: self)
        if self.value == nil { self.value = .object(ObjectBox(capacity: 0)) }
    }
}

struct KeyedValueEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: ValueEncoder
    let box: ObjectBox

    var codingPath: [any CodingKey] { encoder.codingPath }

    private func put(_ value: EncodedValue, _ key: Key) { box.members.append((key.stringValue, value)) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(try encoder.checked(value, key: key), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        put(try encoder.checked(ValueEncoder.double(value), key: key), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.int(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.int(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.uint(UInt64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.uint(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        put(try encoder.encode(value, key: key), key)
    }

    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { put(.string(value), key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { put(.int(value), key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { put(.bool(value), key) }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { put(try encoder.encode(value, key: key), key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = ObjectBox()
        put(.object(nested), key)
        return KeyedEncodingContainer(
            KeyedValueEncodingContainer<NestedKey>(encoder: ValueEncoder(parent: encoder, key: key), box: nested))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        put(.array(nested), key)
        return UnkeyedValueEncodingContainer(encoder: ValueEncoder(parent: encoder, key: key), box: nested)
    }

    mutating func superEncoder() -> any Encoder {
        let child = ValueEncoder(parent: encoder, key: SuperKey.super)
        box.members.append(("super", .deferred(child)))
        return child
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = ValueEncoder(parent: encoder, key: key)
        put(.deferred(child), key)
        return child
    }
}

struct UnkeyedValueEncodingContainer: UnkeyedEncodingContainer {
    let encoder: ValueEncoder
    let box: ArrayBox

    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { box.items.count }
    private var nextKey: IndexKey { IndexKey(intValue: box.items.count) }

    mutating func encodeNil() throws { box.items.append(.null) }
    mutating func encode(_ value: Bool) throws { box.items.append(.bool(value)) }
    mutating func encode(_ value: String) throws { box.items.append(.string(value)) }
    mutating func encode(_ value: Double) throws { box.items.append(try encoder.checked(value, key: nextKey)) }
    mutating func encode(_ value: Float) throws {
        box.items.append(try encoder.checked(ValueEncoder.double(value), key: nextKey))
    }
    mutating func encode(_ value: Int) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { box.items.append(.int(value)) }
    mutating func encode(_ value: UInt) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { box.items.append(.uint(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.items.append(try encoder.encode(value, key: nextKey))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = ObjectBox()
        let key = nextKey
        box.items.append(.object(nested))
        return KeyedEncodingContainer(
            KeyedValueEncodingContainer<NestedKey>(encoder: ValueEncoder(parent: encoder, key: key), box: nested))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        let key = nextKey
        box.items.append(.array(nested))
        return UnkeyedValueEncodingContainer(encoder: ValueEncoder(parent: encoder, key: key), box: nested)
    }

    mutating func superEncoder() -> any Encoder {
        let child = ValueEncoder(parent: encoder, key: nextKey)
        box.items.append(.deferred(child))
        return child
    }
}

/// Canonical JSON text that this codec wrote earlier, encoded by copying its bytes.
///
/// Our encoder splices the bytes; any other encoder gets the value they denote.
struct RawJSON: Encodable {
    var bytes: [UInt8]

    func encode(to encoder: any Encoder) throws {
        try MessageCodec.decode(JSONValue.self, from: bytes).encode(to: encoder)
    }
}

/// The key of an object member in a coding path.
struct MemberKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The key of an array item in a coding path.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

/// The key `super`, as `superEncoder()` and `superDecoder()` use it.
enum SuperKey: String, CodingKey {
    case `super`
}
