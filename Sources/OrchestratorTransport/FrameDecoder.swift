import NIOCore
import NIOExtras
import OrchestratorProtocol

/// Splits a byte stream into frame bodies: a 4-byte big-endian length, then that many bytes.
///
/// Unlike nio-extras' `LengthFieldBasedFrameDecoder`, which would buffer up to 2 GiB for a large
/// length prefix, this decoder checks the prefix before reading the body: a zero length fails with
/// MALFORMED_FRAME and a length above the maximum with FRAME_TOO_LARGE, without buffering anything.
/// A stream that ends inside a frame fails with MALFORMED_FRAME (truncated).
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public let maximumFrameLength: Int

    public init(maximumFrameLength: Int = Frame.defaultMaximumLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        try Frame.validate(length: length, maximumLength: maximumFrameLength)
        guard buffer.readableBytes >= Frame.headerLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.headerLength)
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        if let frame = try decode(buffer: &buffer) { return frame }
        if buffer.readableBytes > 0 {
            let bytes = buffer.readableBytes
            buffer.clear()
            throw OrchestratorError(
                .malformedFrame, "the connection closed in the middle of a frame (\(bytes) bytes of it arrived)")
        }
        return nil
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Adds the protocol's framing: the decoder above, and nio-extras' length prepender for writes.
    public func addOrchestratorFraming(maximumFrameLength: Int = Frame.defaultMaximumLength) throws {
        try addHandler(ByteToMessageHandler(FrameDecoder(maximumFrameLength: maximumFrameLength)))
        try addHandler(LengthFieldPrepender(lengthFieldBitLength: .thirtyTwoBits, lengthFieldEndianness: .big))
    }
}
