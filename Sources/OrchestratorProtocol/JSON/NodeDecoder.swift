/// A `Decoder` over a parsed `JSONNode`. It throws the same `DecodingError`s, with the same coding
/// paths, as Foundation's `JSONDecoder`, so error messages name the member that is wrong.
final class NodeDecoder: Decoder {
    let node: JSONNode
    private let parent: NodeDecoder?
    private let key: (any CodingKey)?
    let userInfo: [CodingUserInfoKey: Any]

    init(node: JSONNode, parent: NodeDecoder? = nil, key: (any CodingKey)? = nil, userInfo: [CodingUserInfoKey: Any]) {
        self.node = node
        self.parent = parent
        self.key = key
        self.userInfo = userInfo
    }

    var codingPath: [any CodingKey] {
        var keys: [any CodingKey] = []
        var decoder: NodeDecoder? = self
        while let current = decoder {
            if let key = current.key { keys.append(key) }
            decoder = current.parent
        }
        return keys.reversed()
    }

    func path(appending key: any CodingKey) -> [any CodingKey] {
        var path = codingPath
        path.append(key)
        return path
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = node else {
            throw Self.mismatch([String: Any].self, node, path: codingPath)
        }
        return KeyedDecodingContainer(KeyedNodeDecodingContainer<Key>(decoder: self, members: members))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = node else {
            throw Self.mismatch([Any].self, node, path: codingPath)
        }
        return UnkeyedNodeDecodingContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// Decodes a value of any type from `node`, found under `key`.
    func decode<T: Decodable>(_ type: T.Type, from node: JSONNode, key: any CodingKey) throws -> T {
        if T.self == JSONValue.self { return unsafeBitCast(node.jsonValue, to: T.self) }
        if T.self == String.self {
            guard case .string(let text) = node else {
                throw Self.failure(String.self, node, path: path(appending: key))
            }
            return unsafeBitCast(text, to: T.self)
        }
        if let special = try FoundationValues.decode(T.self, from: node, path: path(appending: key)) {
            return special
        }
        if case .null = node, !(T.self is any OptionalMarker.Type) {
            throw DecodingError.valueNotFound(
                T.self,
                .init(
                    codingPath: path(appending: key),
                    debugDescription: "Expected \(T.self) value but found null instead."))
        }
        return try T(from: NodeDecoder(node: node, parent: self, key: key, userInfo: userInfo))
    }

    // MARK: - Reading scalars

    static func mismatch(_ type: Any.Type, _ node: JSONNode, path: [any CodingKey]) -> DecodingError {
        .typeMismatch(
            type,
            .init(codingPath: path, debugDescription: "Expected \(type) but found \(node.kindDescription) instead."))
    }

    /// A mismatch, or for null a missing value.
    static func failure(_ type: Any.Type, _ node: JSONNode, path: [any CodingKey]) -> DecodingError {
        if case .null = node {
            return .valueNotFound(
                type, .init(codingPath: path, debugDescription: "Expected \(type) value but found null instead."))
        }
        return mismatch(type, node, path: path)
    }

    static func bool(_ node: JSONNode, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let value) = node else { throw failure(Bool.self, node, path: path()) }
        return value
    }

    static func string(_ node: JSONNode, path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard case .string(let value) = node else { throw failure(String.self, node, path: path()) }
        return value
    }

    static func double(_ node: JSONNode, path: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard case .number(let number) = node else { throw failure(Double.self, node, path: path()) }
        switch number {
        case .int(let value): return Double(value)
        case .uint(let value): return Double(value)
        case .double(let value): return value
        }
    }

    static func integer<T: FixedWidthInteger>(
        _ type: T.Type, _ node: JSONNode, path: @autoclosure () -> [any CodingKey]
    )
        throws -> T
    {
        guard case .number(let number) = node else { throw failure(T.self, node, path: path()) }
        let result: T?
        switch number {
        case .int(let value): result = T(exactly: value)
        case .uint(let value): result = T(exactly: value)
        case .double(let value): result = T(exactly: value)
        }
        guard let result else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: path(),
                    debugDescription: "Number \(number.description) is not representable in \(T.self)"))
        }
        return result
    }
}

extension NodeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool {
        if case .null = node { return true }
        return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try Self.bool(node, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try Self.string(node, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Self.double(node, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try Self.double(node, path: codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try Self.integer(Int.self, node, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Self.integer(Int8.self, node, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Self.integer(Int16.self, node, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Self.integer(Int32.self, node, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Self.integer(Int64.self, node, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try Self.integer(UInt.self, node, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Self.integer(UInt8.self, node, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Self.integer(UInt16.self, node, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Self.integer(UInt32.self, node, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Self.integer(UInt64.self, node, path: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return unsafeBitCast(node.jsonValue, to: T.self) }
        if let special = try FoundationValues.decode(T.self, from: node, path: codingPath) { return special }
        return try T(from: self)
    }
}

struct KeyedNodeDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let members: [(key: String, value: JSONNode)]
    /// For large objects: where each key first occurs.
    private let index: [String: Int]?

    init(decoder: NodeDecoder, members: [(key: String, value: JSONNode)]) {
        self.decoder = decoder
        self.members = members
        if members.count > 16 {
            var index: [String: Int] = [:]
            index.reserveCapacity(members.count)
            for (offset, member) in members.enumerated() where index[member.key] == nil {
                index[member.key] = offset
            }
            self.index = index
        } else {
            self.index = nil
        }
    }

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] {
        var seen = Set<String>()
        return members.compactMap { member in seen.insert(member.key).inserted ? Key(stringValue: member.key) : nil }
    }

    private func find(_ key: Key) -> JSONNode? {
        let name = key.stringValue
        if let index { return index[name].map { members[$0].value } }
        for member in members where member.key == name { return member.value }
        return nil
    }

    private func require(_ key: Key) throws -> JSONNode {
        guard let node = find(key) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue).")
            )
        }
        return node
    }

    /// The node under `key`, or nil when it is absent or null.
    private func present(_ key: Key) -> JSONNode? {
        guard let node = find(key) else { return nil }
        if case .null = node { return nil }
        return node
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try require(key) { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try NodeDecoder.bool(try require(key), path: decoder.path(appending: key))
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try NodeDecoder.string(try require(key), path: decoder.path(appending: key))
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try NodeDecoder.double(try require(key), path: decoder.path(appending: key))
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try NodeDecoder.double(try require(key), path: decoder.path(appending: key)))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

    private func integer<T: FixedWidthInteger>(_ key: Key) throws -> T {
        try NodeDecoder.integer(T.self, try require(key), path: decoder.path(appending: key))
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.decode(T.self, from: try require(key), key: key)
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let node = present(key) else { return nil }
        return try NodeDecoder.string(node, path: decoder.path(appending: key))
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let node = present(key) else { return nil }
        return try NodeDecoder.bool(node, path: decoder.path(appending: key))
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        guard let node = present(key) else { return nil }
        return try NodeDecoder.integer(Int64.self, node, path: decoder.path(appending: key))
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let node = present(key) else { return nil }
        return try NodeDecoder.integer(Int.self, node, path: decoder.path(appending: key))
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let node = present(key) else { return nil }
        return try NodeDecoder.double(node, path: decoder.path(appending: key))
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = present(key) else { return nil }
        return try decoder.decode(T.self, from: node, key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try NodeDecoder(node: try require(key), parent: decoder, key: key, userInfo: decoder.userInfo)
            .container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(node: try require(key), parent: decoder, key: key, userInfo: decoder.userInfo)
            .unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let node = members.first { $0.key == "super" }?.value ?? .null
        return NodeDecoder(node: node, parent: decoder, key: SuperKey.super, userInfo: decoder.userInfo)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(node: find(key) ?? .null, parent: decoder, key: key, userInfo: decoder.userInfo)
    }
}

struct UnkeyedNodeDecodingContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let items: [JSONNode]
    var currentIndex = 0

    init(decoder: NodeDecoder, items: [JSONNode]) {
        self.decoder = decoder
        self.items = items
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private var key: IndexKey { IndexKey(intValue: currentIndex) }

    private func next(_ type: Any.Type) throws -> JSONNode {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: decoder.path(appending: key), debugDescription: "Unkeyed container is at end."))
        }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        if case .null = try next(Any?.self) {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let value = try NodeDecoder.bool(try next(type), path: decoder.path(appending: key))
        currentIndex += 1
        return value
    }
    mutating func decode(_ type: String.Type) throws -> String {
        let value = try NodeDecoder.string(try next(type), path: decoder.path(appending: key))
        currentIndex += 1
        return value
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        let value = try NodeDecoder.double(try next(type), path: decoder.path(appending: key))
        currentIndex += 1
        return value
    }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    mutating func decode(_ type: Int.Type) throws -> Int { try integer() }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

    private mutating func integer<T: FixedWidthInteger>() throws -> T {
        let value = try NodeDecoder.integer(T.self, try next(T.self), path: decoder.path(appending: key))
        currentIndex += 1
        return value
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try decoder.decode(T.self, from: try next(T.self), key: key)
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let container = try NodeDecoder(
            node: try next([String: Any].self), parent: decoder, key: key, userInfo: decoder.userInfo
        )
        .container(keyedBy: NestedKey.self)
        currentIndex += 1
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = try NodeDecoder(
            node: try next([Any].self), parent: decoder, key: key, userInfo: decoder.userInfo
        )
        .unkeyedContainer()
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let child = NodeDecoder(node: try next(Any.self), parent: decoder, key: key, userInfo: decoder.userInfo)
        currentIndex += 1
        return child
    }
}

/// Lets the decoder tell `Optional` (which may be null) from other types.
protocol OptionalMarker {}
extension Optional: OptionalMarker {}
