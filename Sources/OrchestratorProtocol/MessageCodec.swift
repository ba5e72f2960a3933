import Foundation

/// Encodes and decodes message bodies (the JSON inside a frame).
///
/// Encoding is canonical: compact, keys sorted, `/` not escaped. The test vectors in `Protocol/vectors`
/// are byte-exact against it.
public enum MessageCodec {
    /// Encodes any value canonically.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        Data(try encodeBytes(value))
    }

    /// Encodes any value canonically, as bytes. The most frequent messages are built directly
    /// (`DirectAnswers.swift`, `DirectRequests.swift`), the rest through Codable.
    public static func encodeBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        let tree = try self.tree(of: value, direct: true)
        // A message written directly is its text already.
        if case .raw(let text) = tree { return text }
        return try write(tree, of: value)
    }

    /// Encodes any value canonically, as text.
    public static func encodeToString<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encodeBytes(value), as: UTF8.self)
    }

    /// Encodes through Codable only (no direct writer), for tests that compare both paths.
    static func encodeBytesThroughCodable<T: Encodable>(_ value: T) throws -> [UInt8] {
        try write(tree(of: value, direct: false), of: value)
    }

    private static func tree<T: Encodable>(of value: T, direct: Bool) throws -> EncodedValue {
        if T.self == JSONValue.self { return .payload(unsafeBitCast(value, to: JSONValue.self)) }
        if let special = FoundationValues.encode(value) { return special }
        let encoder = ValueEncoder()
        if direct {
            if T.self == ServerMessage.self,
                let tree = try unsafeBitCast(value, to: ServerMessage.self).directlyEncoded(by: encoder)
            {
                return tree
            }
            if T.self == RequestMessage.self,
                let tree = try unsafeBitCast(value, to: RequestMessage.self).directlyEncoded(by: encoder)
            {
                return tree
            }
        }
        try value.encode(to: encoder)
        return encoder.value ?? .object(ObjectBox(capacity: 0))
    }

    private static func write<T: Encodable>(_ tree: EncodedValue, of value: T) throws -> [UInt8] {
        var writer = JSONWriter()
        do {
            try writer.write(tree)
        } catch {
            throw error.encodingError(value)
        }
        return writer.bytes
    }

    /// Decodes any value from JSON bytes. `userInfo` is what the decoded types see in `decoder.userInfo`.
    public static func decode<T: Decodable>(
        _ type: T.Type, from bytes: some Collection<UInt8>, userInfo: [CodingUserInfoKey: Any] = [:]
    ) throws -> T {
        var deepest = 0
        return try decode(T.self, from: try parse(bytes, deepest: &deepest), userInfo: userInfo)
    }

    static func decode<T: Decodable>(_ type: T.Type, from node: JSONNode, userInfo: [CodingUserInfoKey: Any] = [:])
        throws -> T
    {
        if T.self == JSONValue.self { return unsafeBitCast(node.jsonValue, to: T.self) }
        if let special = try FoundationValues.decode(T.self, from: node, path: []) { return special }
        return try T(from: NodeDecoder(node: node, userInfo: userInfo))
    }

    /// Parses JSON text; invalid text is a `DecodingError.dataCorrupted`, as with Foundation.
    static func parse(_ bytes: some Collection<UInt8>, deepest: inout Int) throws -> JSONNode {
        let (node, depth) = try withParsed(bytes) { root, depth in (root.node, depth) }
        deepest = depth
        return node
    }

    /// Parses JSON text and calls `body` with its value (which must not escape `body`) and how
    /// deeply its arrays and objects nest; invalid text is a `DecodingError.dataCorrupted`, as with
    /// Foundation.
    static func withParsed<Result>(
        _ bytes: some Collection<UInt8>, _ body: (JSONElement, _ deepest: Int) throws -> Result
    ) throws -> Result {
        func run(_ buffer: UnsafeBufferPointer<UInt8>) throws -> Result {
            let tape: JSONTape
            var deepest = 0
            do {
                tape = try JSONParser.parse(buffer, maximumDepth: maximumNestingDepth, deepest: &deepest)
            } catch {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: [], debugDescription: "The given data was not valid JSON: \(error.message)",
                        underlyingError: error))
            }
            return try tape.withRoot(over: buffer) { try body($0, deepest) }
        }
        return try bytes.withContiguousStorageIfAvailable(run) ?? Array(bytes).withUnsafeBufferPointer(run)
    }

    /// The deepest nesting a request may have. Well below the parser's limit, so that whatever a
    /// server accepts it can also write back inside its own messages (history, tasks, pages).
    public static let maximumRequestNestingDepth = 64

    private struct RequestHeader: Decodable {
        var id: UInt64
        var op: String
    }

    /// Decodes a request, classifying what is wrong with a bad one.
    public static func decodeRequest(from bytes: some Collection<UInt8>) throws(RequestDecodingError) -> RequestMessage
    {
        let outcome: Result<RequestMessage, RequestDecodingError>
        do {
            outcome = try withParsed(bytes) { root, depth in Self.decodeRequest(from: root, depth: depth) }
        } catch {
            let scanned = nestingDepth(of: bytes)
            if scanned > maximumRequestNestingDepth {
                throw .malformed(
                    "the frame's JSON is nested \(scanned) levels deep; requests may nest at most \(maximumRequestNestingDepth) levels (payloads a few less)"
                )
            }
            throw .malformed("the frame is not valid UTF-8 JSON")
        }
        return try outcome.get()
    }

    private static func decodeRequest(from root: JSONElement, depth: Int) -> Result<
        RequestMessage, RequestDecodingError
    > {
        if depth > maximumRequestNestingDepth {
            let limit =
                "nested \(depth) levels deep; requests may nest at most \(maximumRequestNestingDepth) levels (payloads a few less)"
            if let header = try? decode(RequestHeader.self, from: root.node), header.id > 0 {
                guard let op = OperationName(rawValue: header.op) else {
                    return .failure(.unknownOperation(id: header.id, op: header.op))
                }
                return .failure(.invalidBody(id: header.id, op: op, message: "the request is \(limit)"))
            }
            return .failure(.malformed("the frame's JSON is \(limit)"))
        }
        if let direct = RequestMessage(directFrom: root) { return .success(direct) }
        do {
            return .success(try decode(RequestMessage.self, from: root.node))
        } catch let error as RequestDecodingError {
            return .failure(error)
        } catch {
            return .failure(.malformed("the frame is not valid UTF-8 JSON"))
        }
    }

    /// The deepest nesting the JSON parser accepts.
    public static let maximumNestingDepth = 512

    /// How deeply arrays and objects nest in JSON text (brackets inside strings do not count).
    static func nestingDepth(of bytes: some Collection<UInt8>) -> Int {
        if let depth = bytes.withContiguousStorageIfAvailable({ nestingDepth(ofContiguous: $0) }) {
            return depth
        }
        return Array(bytes).withUnsafeBufferPointer { nestingDepth(ofContiguous: $0) }
    }

    private static func nestingDepth(ofContiguous bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// Decodes a message from the server.
    public static func decodeServerMessage(from bytes: some Collection<UInt8>) throws -> ServerMessage {
        try withParsed(bytes) { root, _ in
            if let direct = ServerMessage(directFrom: root) { return direct }
            return try decode(ServerMessage.self, from: root.node)
        }
    }
}

/// The framing of the protocol: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
public enum Frame {
    /// Bytes in the length prefix.
    public static let headerLength = 4
    /// The default largest frame body a peer accepts: 4 MiB.
    public static let defaultMaximumLength = 4 * 1024 * 1024

    /// Checks a length prefix before any body byte is read.
    ///
    /// A zero length is MALFORMED_FRAME; a length above `maximumLength` is FRAME_TOO_LARGE. Both close the connection.
    public static func validate(length: UInt32, maximumLength: Int) throws(OrchestratorError) {
        if length == 0 {
            throw OrchestratorError(.malformedFrame, "empty frame: a frame carries one JSON object of 1 byte or more")
        }
        if Int(length) > maximumLength {
            throw OrchestratorError(
                .frameTooLarge,
                "frame of \(length) bytes is larger than the maximum of \(maximumLength) bytes",
                details: ["length": .int(Int64(length)), "maximumLength": .int(Int64(maximumLength))])
        }
    }

    /// A whole frame: the length prefix followed by `body`.
    public static func encode(body: some Collection<UInt8>) -> [UInt8] {
        let length = UInt32(body.count)
        var bytes: [UInt8] = [
            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ]
        bytes.reserveCapacity(4 + body.count)
        bytes.append(contentsOf: body)
        return bytes
    }
}
