import Foundation

/// Encodes and decodes message bodies (the JSON inside a frame).
///
/// Encoding is canonical: compact, keys sorted, `/` not escaped. The test vectors in `Protocol/vectors`
/// are byte-exact against it.
public enum MessageCodec {
    private static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Encodes any value canonically.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        try makeEncoder().encode(value)
    }

    /// Encodes any value canonically, as text.
    public static func encodeToString<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    /// Decodes any value from JSON bytes.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let data = (bytes as? Data) ?? Data(bytes)
        return try JSONDecoder().decode(type, from: data)
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
        // One contiguous copy up front: scanning (and parsing) a generic collection byte by byte
        // costs seconds on a frame of a few megabytes.
        let bytes = (bytes as? Data) ?? Data(bytes)
        let depth = nestingDepth(of: bytes)
        if depth > maximumRequestNestingDepth {
            let limit =
                "nested \(depth) levels deep; requests may nest at most \(maximumRequestNestingDepth) levels (payloads a few less)"
            if depth <= maximumNestingDepth, let header = try? decode(RequestHeader.self, from: bytes), header.id > 0 {
                guard let op = OperationName(rawValue: header.op) else {
                    throw .unknownOperation(id: header.id, op: header.op)
                }
                throw .invalidBody(id: header.id, op: op, message: "the request is \(limit)")
            }
            throw .malformed("the frame's JSON is \(limit)")
        }
        do {
            return try decode(RequestMessage.self, from: bytes)
        } catch let error as RequestDecodingError {
            throw error
        } catch {
            throw .malformed("the frame is not valid UTF-8 JSON")
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
        try decode(ServerMessage.self, from: bytes)
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
