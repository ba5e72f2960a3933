import Foundation

/// A parsed JSON document as one flat array of entries over the text's bytes (a "tape", as simdjson
/// calls it): a value is an entry, an object's members are a name's entry followed by its value's,
/// and a container's entry says where its last descendant ends, so a reader steps over a member in
/// one move. Strings stay bytes of the text until a reader asks for one, and member names are
/// compared as bytes, never made into `String`s.
///
/// Building a tree instead (`JSONNode`: an array per object, a `String` per member name) was a third
/// of a worker's instructions under callgrind: parsing 39 000 instructions per message of about
/// 1.2 KB, reading the tree 27 000, freeing it 8 000. The direct readers of the protocol's frequent
/// messages (`ServerMessage(directFrom:)`, `RequestMessage(directFrom:)`) read the tape; Codable's
/// decoder reads the tree, which `JSONElement.node` builds from it.
struct JSONTape {
    enum Kind: UInt8 {
        case null, `false`, `true`, int, uint, double
        /// A string of ASCII bytes with no escape: its text is its bytes.
        case asciiString
        /// A string with no escape, some of its (valid) UTF-8 bytes beyond ASCII.
        case string
        /// A string with escapes, decoded while parsing: `bits` is its index in `decodedStrings`.
        case decodedString
        case array, object
    }

    struct Entry {
        var kind: Kind
        /// Strings: the offset of the first byte after the opening quote; containers: of the bracket.
        var start: UInt32
        /// Strings: the bytes between the quotes; containers: the members or items.
        var length: UInt32
        /// The index of the entry after this value and everything in it.
        var end: UInt32
        /// Numbers: the value's bits (`Int64`, `UInt64` or `Double`); decoded strings: an index.
        var bits: UInt64
    }

    let entries: [Entry]
    let decodedStrings: [String]

    /// Calls `body` with the document's value; `bytes` must be the text the tape was parsed from,
    /// and the element must not escape `body`.
    func withRoot<Result>(over bytes: UnsafeBufferPointer<UInt8>, _ body: (JSONElement) throws -> Result) rethrows
        -> Result
    {
        try entries.withUnsafeBufferPointer { entries in
            try decodedStrings.withUnsafeBufferPointer { strings in
                try body(JSONElement(document: .init(bytes: bytes, entries: entries, strings: strings), index: 0))
            }
        }
    }
}

/// The text and tape an element reads; valid only inside `JSONTape.withRoot`.
struct JSONDocument {
    let bytes: UnsafeBufferPointer<UInt8>
    let entries: UnsafeBufferPointer<JSONTape.Entry>
    let strings: UnsafeBufferPointer<String>
}

/// One value of a parsed document.
struct JSONElement {
    let document: JSONDocument
    let index: Int

    @inline(__always)
    var entry: JSONTape.Entry { document.entries[index] }

    var kind: JSONTape.Kind { entry.kind }

    var isNull: Bool { kind == .null }

    var bool: Bool? {
        switch kind {
        case .true: true
        case .false: false
        default: nil
        }
    }

    /// The value when it is an integer in the range of `Int64` (as the parser reads `1.0` and `1e3`).
    var int64: Int64? {
        let entry = entry
        guard entry.kind == .int else { return nil }
        return Int64(bitPattern: entry.bits)
    }

    var number: JSONNumber? {
        let entry = entry
        switch entry.kind {
        case .int: return .int(Int64(bitPattern: entry.bits))
        case .uint: return .uint(entry.bits)
        case .double: return .double(Double(bitPattern: entry.bits))
        default: return nil
        }
    }

    /// A string's UTF-8 bytes as they are in the text; nil for a string with escapes (and for
    /// anything but a string).
    var rawStringBytes: UnsafeBufferPointer<UInt8>? {
        let entry = entry
        guard entry.kind == .asciiString || entry.kind == .string else { return nil }
        return UnsafeBufferPointer(
            rebasing: document.bytes[Int(entry.start)..<Int(entry.start) + Int(entry.length)])
    }

    var string: String? {
        let entry = entry
        switch entry.kind {
        case .asciiString:
            let bytes = UnsafeBufferPointer(
                rebasing: document.bytes[Int(entry.start)..<Int(entry.start) + Int(entry.length)])
            if bytes.count > 15, let name = InternedNames.name(bytes) { return name }
            // ASCII up to 15 bytes becomes a small string without a second check of its UTF-8.
            return String(unsafeUninitializedCapacity: bytes.count) { buffer in
                _ = buffer.initialize(from: bytes)
                return bytes.count
            }
        case .string:
            return String(
                decoding: UnsafeBufferPointer(
                    rebasing: document.bytes[Int(entry.start)..<Int(entry.start) + Int(entry.length)]),
                as: UTF8.self)
        case .decodedString:
            return document.strings[Int(entry.bits)]
        default:
            return nil
        }
    }

    /// The value when it is a string naming one of `T`'s cases, found by its bytes (no `String` is
    /// made: an enum's `init(rawValue:)` on a parsed string cost about 600 instructions).
    func name<T: ByteNamed>(_ type: T.Type) -> T? {
        if let bytes = rawStringBytes { return T.byteNames.value(bytes) }
        return string.flatMap(T.init(rawValue:))
    }

    /// Whether the value is the string `text`.
    func isString(_ text: StaticString) -> Bool {
        if let bytes = rawStringBytes { return JSONElement.equal(bytes, text) }
        guard kind == .decodedString, let string else { return false }
        return string.utf8.elementsEqual(
            UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount
            && (bytes.count == 0 || memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0)
    }

    var object: JSONObjectView? {
        guard kind == .object else { return nil }
        return JSONObjectView(element: self)
    }

    var array: JSONArrayView? {
        guard kind == .array else { return nil }
        return JSONArrayView(element: self)
    }

    /// The element after this one and everything in it.
    @inline(__always)
    var next: JSONElement { JSONElement(document: document, index: Int(entry.end)) }

    /// The value as a tree, for Codable's decoder.
    var node: JSONNode {
        switch kind {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int, .uint, .double: return .number(number!)
        case .asciiString, .string, .decodedString: return .string(string!)
        case .array:
            var items: [JSONNode] = []
            items.reserveCapacity(Int(entry.length))
            for item in JSONArrayView(element: self) { items.append(item.node) }
            return .array(items)
        case .object:
            var members: [(key: String, value: JSONNode)] = []
            members.reserveCapacity(Int(entry.length))
            for (name, value) in JSONObjectView(element: self).members {
                members.append((name.string!, value.node))
            }
            return .object(members)
        }
    }

    /// The value as a payload, as `node.jsonValue` reads it: integral numbers in the range of Int64
    /// are integers, everything else a double; of repeated keys the first wins.
    var jsonValue: JSONValue {
        switch kind {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int: return .int(Int64(bitPattern: entry.bits))
        case .uint: return .double(Double(entry.bits))
        case .double: return .double(Double(bitPattern: entry.bits))
        case .asciiString, .string, .decodedString: return .string(string!)
        case .array:
            var items: [JSONValue] = []
            items.reserveCapacity(Int(entry.length))
            for item in JSONArrayView(element: self) { items.append(item.jsonValue) }
            return .array(items)
        case .object:
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(Int(entry.length))
            for (name, value) in JSONObjectView(element: self).members {
                let key = name.string!
                if object[key] == nil { object[key] = value.jsonValue }
            }
            return .object(object)
        }
    }
}

/// An array's items, in order.
struct JSONArrayView: Sequence {
    let element: JSONElement

    var count: Int { Int(element.entry.length) }

    struct Iterator: IteratorProtocol {
        var position: JSONElement
        let end: Int

        mutating func next() -> JSONElement? {
            guard position.index < end else { return nil }
            defer { position = position.next }
            return position
        }
    }

    func makeIterator() -> Iterator {
        Iterator(
            position: JSONElement(document: element.document, index: element.index + 1), end: Int(element.entry.end))
    }
}

/// An object's members, read the way the Codable path reads them where the forms are plain (the
/// first of repeated keys wins, null is absent for optionals); the typed readers answer nil for
/// anything else, and the caller leaves the message to Codable.
struct JSONObjectView {
    let element: JSONElement

    /// The members in order: each name's element (a string) and its value's.
    var members: Members { Members(element: element) }

    struct Members: Sequence, IteratorProtocol {
        let document: JSONDocument
        var position: Int
        let end: Int

        init(element: JSONElement) {
            document = element.document
            position = element.index + 1
            end = Int(element.entry.end)
        }

        mutating func next() -> (name: JSONElement, value: JSONElement)? {
            guard position < end else { return nil }
            let name = JSONElement(document: document, index: position)
            let value = JSONElement(document: document, index: position + 1)
            position = Int(document.entries[position + 1].end)
            return (name, value)
        }
    }

    /// The value of the first member named `key`.
    func first(_ key: StaticString) -> JSONElement? {
        let document = element.document
        let end = Int(element.entry.end)
        var position = element.index + 1
        let keyCount = key.utf8CodeUnitCount
        let keyBytes = key.utf8Start
        while position < end {
            let name = document.entries[position]
            if name.kind == .asciiString || name.kind == .string {
                // The first byte before a call to memcmp: most names of the same length differ there.
                if Int(name.length) == keyCount
                    && (keyCount == 0
                        || (document.bytes[Int(name.start)] == keyBytes[0]
                            && memcmp(document.bytes.baseAddress! + Int(name.start), keyBytes, keyCount) == 0))
                {
                    return JSONElement(document: document, index: position + 1)
                }
            } else if JSONElement(document: document, index: position).isString(key) {
                return JSONElement(document: document, index: position + 1)
            }
            position = Int(document.entries[position + 1].end)
        }
        return nil
    }

    func int64(_ key: StaticString) -> Int64? { first(key)?.int64 }

    func int32(_ key: StaticString) -> Int32? { int64(key).flatMap { Int32(exactly: $0) } }

    func string(_ key: StaticString) -> String? { first(key)?.string }

    func object(_ key: StaticString) -> JSONObjectView? { first(key)?.object }

    func name<T: ByteNamed>(_ key: StaticString, as type: T.Type) -> T? { first(key)?.name(T.self) }

    /// `.some(nil)` when absent or null, nil when present and not a string.
    func optionalString(_ key: StaticString) -> String?? {
        guard let value = first(key), !value.isNull else { return .some(nil) }
        return value.string.map { .some($0) }
    }

    func isAbsentOrNull(_ key: StaticString) -> Bool {
        first(key)?.isNull ?? true
    }

    /// A payload: absent or null is nil, as `decodeIfPresent` reads it.
    func payload(_ key: StaticString) -> JSONValue? {
        guard let value = first(key), !value.isNull else { return nil }
        return value.jsonValue
    }

    /// `.some(nil)` when absent or null, nil when present and not an integer.
    func optionalInt64(_ key: StaticString) -> Int64?? {
        guard let value = first(key), !value.isNull else { return .some(nil) }
        return value.int64.map { .some($0) }
    }

    /// `.some(nil)` when absent or null, nil when present and not a number.
    func optionalDouble(_ key: StaticString) -> Double?? {
        guard let value = first(key), !value.isNull else { return .some(nil) }
        switch value.number {
        case .int(let integer)?: return .some(Double(integer))
        case .double(let double)?: return .some(double)
        default: return nil
        }
    }

    /// `.some(nil)` when absent or null, nil when present and not one of `T`'s names.
    func optionalName<T: RawRepresentable>(_ key: StaticString, as type: T.Type) -> T?? where T.RawValue == String {
        guard let name = optionalString(key) else { return nil }
        guard let name else { return .some(nil) }
        return T(rawValue: name).map { .some($0) }
    }

    /// `.some(nil)` when absent or null, nil when present and not an array of strings.
    func optionalStrings(_ key: StaticString) -> [String]?? {
        guard let value = first(key), !value.isNull else { return .some(nil) }
        guard let items = value.array else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(items.count)
        for item in items {
            guard let string = item.string else { return nil }
            strings.append(string)
        }
        return .some(strings)
    }

    /// `.some(nil)` when absent or null, nil when present and not a boolean.
    func optionalBool(_ key: StaticString) -> Bool?? {
        guard let value = first(key), !value.isNull else { return .some(nil) }
        return value.bool.map { .some($0) }
    }

    /// A timestamp written as the protocol writes them, read from the text's bytes.
    func timestamp(_ key: StaticString) -> Timestamp? {
        guard let value = first(key) else { return nil }
        if let bytes = value.rawStringBytes { return Timestamp(iso8601UTF8: bytes) }
        return value.string.flatMap(Timestamp.init(iso8601:))
    }

    /// `.some(nil)` when absent or null, `.some(value)` when read, nil when not readable directly.
    func optional<T>(_ key: StaticString, _ read: (JSONElement) -> T?) -> T?? {
        guard let value = first(key), !value.isNull else { return .some(nil) }
        return read(value).map { .some($0) }
    }
}

/// An enum of the protocol's names whose cases the direct readers find by the bytes of the text.
protocol ByteNamed: RawRepresentable, Sendable where RawValue == String {
    static var byteNames: ByteNameTable<Self> { get }
}

/// Names and their values, found by UTF-8 bytes: by length, then by the first byte and `memcmp`.
struct ByteNameTable<Value>: Sendable where Value: Sendable {
    private let byLength: [[(bytes: [UInt8], value: Value)]]

    init(_ names: [(name: String, value: Value)]) {
        let longest = names.map(\.name.utf8.count).max() ?? 0
        var table = [[(bytes: [UInt8], value: Value)]](repeating: [], count: longest + 1)
        for (name, value) in names { table[name.utf8.count].append((Array(name.utf8), value)) }
        byLength = table
    }

    func value(_ bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        guard bytes.count < byLength.count, let base = bytes.baseAddress else { return nil }
        for entry in byLength[bytes.count] where entry.bytes.first == base[0] {
            if entry.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, base, bytes.count) == 0 }) {
                return entry.value
            }
        }
        return nil
    }
}

extension ByteNameTable where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    /// Every case by its raw value.
    init() { self.init(Value.allCases.map { ($0.rawValue, $0) }) }
}

extension EventType: ByteNamed {
    static let byteNames = ByteNameTable<EventType>()
}

extension OperationName: ByteNamed {
    static let byteNames = ByteNameTable<OperationName>()
}

extension CommandType: ByteNamed {
    static let byteNames = ByteNameTable<CommandType>()
}
