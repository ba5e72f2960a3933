import OrchestratorProtocol

/// libFuzzer's entry point: the input is a byte stream as a peer could send it.
///
/// The first byte picks how the stream is cut into reads; the rest goes through the frame parser,
/// and every frame through the request decoder and the server-message decoder, as the server and
/// the client see them. Any crash, hang or unbounded allocation is a finding; errors are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard let first = bytes.first else { return 0 }
    let stream = bytes.dropFirst()
    let chunk = max(1, Int(first))
    var parser = FrameParser(maximumFrameLength: 64 * 1024)
    var index = stream.startIndex
    while index < stream.endIndex {
        let end = stream.index(index, offsetBy: chunk, limitedBy: stream.endIndex) ?? stream.endIndex
        parser.append(stream[index..<end])
        index = end
        do {
            while let frame = try parser.nextFrame() {
                inspect(frame)
            }
        } catch {
            return 0  // A framing error closes the connection.
        }
    }
    _ = try? parser.finish()
    // Whole inputs are also tried as a single message body.
    inspect(Array(stream))
    return 0
}

private func inspect(_ body: [UInt8]) {
    do throws(RequestDecodingError) {
        let request = try MessageCodec.decodeRequest(from: body)
        // What decodes must re-encode and decode to the same request.
        if let encoded = try? MessageCodec.encode(request) {
            let again = try? MessageCodec.decodeRequest(from: encoded)
            if again != request { fatalError("a request did not survive a round trip: \(request)") }
        }
    } catch {
        _ = error.error.message
    }
    _ = try? MessageCodec.decodeServerMessage(from: body)
    if let text = String(validating: body, as: UTF8.self) {
        _ = Timestamp(iso8601: text)
    }
}
