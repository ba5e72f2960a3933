/// Splits a byte stream into frame bodies without NIO: for clients in plain Swift, for the fuzzer,
/// and as the reference the NIO `FrameDecoder` is checked against. Same rules: a zero length is
/// MALFORMED_FRAME, a length above the maximum is FRAME_TOO_LARGE (before any body byte is kept),
/// and a stream that ends inside a frame is MALFORMED_FRAME.
///
/// ```swift
/// var parser = FrameParser()
/// parser.append(bytesFromSocket)
/// while let body = try parser.nextFrame() { handle(body) }
/// ```
public struct FrameParser: Sendable {
    public let maximumFrameLength: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maximumFrameLength: Int = Frame.defaultMaximumLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame body, or nil until more bytes arrive.
    public mutating func nextFrame() throws(OrchestratorError) -> [UInt8]? {
        guard buffer.count - start >= Frame.headerLength else { return nil }
        let length =
            UInt32(buffer[start]) << 24 | UInt32(buffer[start + 1]) << 16 | UInt32(buffer[start + 2]) << 8
            | UInt32(buffer[start + 3])
        try Frame.validate(length: length, maximumLength: maximumFrameLength)
        let end = start + Frame.headerLength + Int(length)
        guard buffer.count >= end else { return nil }
        let body = Array(buffer[(start + Frame.headerLength)..<end])
        start = end
        if start > 64 * 1024 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return body
    }

    /// Call when the stream ends: throws if it ended inside a frame.
    public func finish() throws(OrchestratorError) {
        let left = buffer.count - start
        if left > 0 {
            throw OrchestratorError(
                .malformedFrame, "the connection closed in the middle of a frame (\(left) bytes of it arrived)")
        }
    }
}
