import Foundation
import NIOCore
import NIOTestUtils
import OrchestratorProtocol
import OrchestratorTransport
import Testing

/// The byte-exact vectors of `Protocol/vectors`, shared by every implementation of the protocol.
struct Vector: Decodable, CustomTestStringConvertible {
    var name: String
    var kind: String
    var json: String
    var frameHex: String
    var testDescription: String { name }
}

/// The framing cases of `Protocol/vectors/frames`.
struct FrameVector: Decodable, CustomTestStringConvertible {
    struct Expectation: Decodable {
        var error: String?
        var closed: Bool?
    }
    var name: String
    var bytesHex: String
    var expect: Expectation
    var testDescription: String { name }
}

enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static func load<T: Decodable>(_ type: T.Type, in subdirectory: String? = nil) -> [T] {
        let folder = subdirectory.map { directory.appendingPathComponent($0) } ?? directory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else {
                return nil
            }
            return try? JSONDecoder().decode(T.self, from: data)
        }
    }

    static let messages = load(Vector.self)
    static let frames = load(FrameVector.self, in: "frames")
}

extension Array where Element == UInt8 {
    init?(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self = bytes
    }
}

@Suite("Protocol vectors")
struct VectorTests {
    @Test("there are vectors to test")
    func vectorsExist() {
        #expect(Vectors.messages.count >= 12)
        #expect(Vectors.frames.count >= 3)
    }

    @Test(
        "each message decodes and re-encodes to the same bytes; its frame is the length prefix and the bytes",
        arguments: Vectors.messages)
    func messageVector(_ vector: Vector) throws {
        let body = Array(vector.json.utf8)
        let reencoded: [UInt8]
        switch vector.kind {
        case "request":
            let message = try MessageCodec.decodeRequest(from: body)
            reencoded = Array(try MessageCodec.encode(message))
        case "server":
            let message = try MessageCodec.decodeServerMessage(from: body)
            reencoded = Array(try MessageCodec.encode(message))
        default:
            Issue.record("unknown vector kind \(vector.kind)")
            return
        }
        #expect(
            String(decoding: reencoded, as: UTF8.self) == vector.json,
            "the Swift encoder is canonical for \(vector.name)")
        let frame = try #require([UInt8](hex: vector.frameHex))
        #expect(Frame.encode(body: body) == frame)
    }

    @Test(
        "each message frame decodes to its body however the bytes are split across reads",
        arguments: Vectors.messages)
    func frameSplits(_ vector: Vector) throws {
        let frame = try #require([UInt8](hex: vector.frameHex))
        // The verifier tries every way of splitting, at a cost that grows with the square of the
        // size; the large vectors are cut once at every offset instead.
        guard frame.count <= 512 else {
            for cut in 0...frame.count {
                var decoder = FrameDecoder()
                var buffer = ByteBuffer(bytes: frame[..<cut])
                var frames: [ByteBuffer] = []
                while let decoded = try decoder.decode(buffer: &buffer) { frames.append(decoded) }
                buffer.writeBytes(frame[cut...])
                while let decoded = try decoder.decode(buffer: &buffer) { frames.append(decoded) }
                #expect(frames == [ByteBuffer(string: vector.json)], "cut at \(cut)")
            }
            return
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(ByteBuffer(bytes: frame), [ByteBuffer(string: vector.json)])],
            decoderFactory: { FrameDecoder() })
    }

    @Test("message frames back to back decode in order, split anywhere")
    func framesBackToBack() throws {
        // The four smallest vectors: the verifier's cost grows with the square of the input.
        let vectors = Vectors.messages.sorted { $0.frameHex.count < $1.frameHex.count }.prefix(4)
        var input = ByteBuffer()
        for vector in vectors { input.writeBytes([UInt8](hex: vector.frameHex) ?? []) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, vectors.map { ByteBuffer(string: $0.json) })],
            decoderFactory: { FrameDecoder() })
    }

    @Test("framing cases give the error or close the spec names", arguments: Vectors.frames)
    func framingCase(_ vector: FrameVector) throws {
        let bytes = try #require([UInt8](hex: vector.bytesHex))
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: bytes)
        var frames: [ByteBuffer] = []
        var failure: OrchestratorError?
        do {
            while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
            while let frame = try decoder.decodeLast(buffer: &buffer, seenEOF: true) { frames.append(frame) }
        } catch let error as OrchestratorError {
            failure = error
        }
        // A frame that decodes may still be a bad message: the request decoder classifies it.
        if failure == nil, let frame = frames.first {
            do throws(RequestDecodingError) {
                _ = try MessageCodec.decodeRequest(from: frame.readableBytesView)
            } catch {
                failure = error.error
            }
        }
        if let expected = vector.expect.error {
            #expect(failure?.code.rawValue == expected, "\(vector.name): got \(String(describing: failure))")
        }
        if vector.expect.closed == true {
            #expect(failure != nil || frames.isEmpty, "\(vector.name): a truncated input yields no message")
        }
    }
}

@Suite("FrameParser and FrameDecoder agree")
struct FrameParserTests {
    /// Frames (or the error code) from each decoder for the same bytes, fed in pieces of `chunk` bytes.
    func both(_ bytes: [UInt8], chunk: Int) -> (
        parser: [[UInt8]], parserError: String?, nio: [[UInt8]], nioError: String?
    ) {
        var parser = FrameParser()
        var parsed: [[UInt8]] = []
        var parserError: String?
        var offset = 0
        do {
            while offset < bytes.count {
                parser.append(bytes[offset..<min(bytes.count, offset + chunk)])
                offset += chunk
                while let frame = try parser.nextFrame() { parsed.append(frame) }
            }
            try parser.finish()
        } catch {
            parserError = error.code.rawValue
        }
        var decoder = FrameDecoder()
        var buffer = ByteBuffer()
        var decoded: [[UInt8]] = []
        var nioError: String?
        offset = 0
        do {
            while offset < bytes.count {
                buffer.writeBytes(bytes[offset..<min(bytes.count, offset + chunk)])
                offset += chunk
                while let frame = try decoder.decode(buffer: &buffer) { decoded.append(Array(frame.readableBytesView)) }
            }
            while let frame = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
                decoded.append(Array(frame.readableBytesView))
            }
        } catch let error as OrchestratorError {
            nioError = error.code.rawValue
        } catch {
            nioError = "\(error)"
        }
        return (parsed, parserError, decoded, nioError)
    }

    @Test("same frames and same errors for every vector, in any chunk size")
    func agree() throws {
        var inputs = Vectors.messages.compactMap { [UInt8](hex: $0.frameHex) }
        inputs += Vectors.frames.compactMap { [UInt8](hex: $0.bytesHex) }
        inputs.append(inputs.prefix(5).flatMap { $0 })
        for input in inputs {
            for chunk in [1, 3, 7, 64, 100_000] {
                let result = both(input, chunk: chunk)
                #expect(result.parser == result.nio)
                #expect(result.parserError == result.nioError)
            }
        }
    }
}
