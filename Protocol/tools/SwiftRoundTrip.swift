// Checks the test vectors against the Swift reference implementation: each vector's `json` must decode
// with MessageCodec (as a request or a server message, by `kind`) and re-encode to exactly the same
// bytes, and `frameHex` must equal Frame.encode of them. Messages in Protocol/examples/*.jsonl are
// checked the same way. Each frame vector (vectors/frames) is fed to FrameParser, and a whole frame's
// body to MessageCodec.decodeRequest, and the outcome must be the vector's `expect`.
//
// Not part of the SwiftPM package (it lives outside Sources/); build and run it with
// Protocol/tools/swift-roundtrip.sh, which compiles it together with Sources/OrchestratorProtocol.
import Foundation

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

func roundTrip(kind: String, text: String) throws -> String {
    let bytes = Array(text.utf8)
    let encoded: Data
    switch kind {
    case "request":
        do {
            encoded = try MessageCodec.encode(try MessageCodec.decodeRequest(from: bytes))
        } catch let error as RequestDecodingError {
            throw OrchestratorError(error.error.code, error.error.message)
        }
    case "server":
        encoded = try MessageCodec.encode(try MessageCodec.decodeServerMessage(from: bytes))
    default:
        throw OrchestratorError(.invalidArgument, "unknown kind \(kind)")
    }
    return String(decoding: encoded, as: UTF8.self)
}

let root = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Protocol")
var passed = 0
var failed = 0
func report(_ name: String, _ problem: String?) {
    if let problem {
        failed += 1
        print("FAIL \(name): \(problem)")
    } else {
        passed += 1
    }
}

let vectorDirectory = root.appendingPathComponent("vectors")
let files = try FileManager.default.contentsOfDirectory(atPath: vectorDirectory.path).filter { $0.hasSuffix(".json") }.sorted()
for file in files {
    let data = try Data(contentsOf: vectorDirectory.appendingPathComponent(file))
    guard let vector = try JSONSerialization.jsonObject(with: data) as? [String: Any],
        let kind = vector["kind"] as? String, let text = vector["json"] as? String,
        let frameHex = vector["frameHex"] as? String
    else {
        report(file, "not a vector object with kind, json and frameHex")
        continue
    }
    do {
        let again = try roundTrip(kind: kind, text: text)
        if again != text {
            report(file, "re-encoded differently:\n  vector: \(text)\n  swift:  \(again)")
        } else if hex(Frame.encode(body: Array(text.utf8))) != frameHex {
            report(file, "frameHex differs from Frame.encode")
        } else {
            report(file, nil)
        }
    } catch {
        report(file, "does not decode: \(error)")
    }
}

let exampleDirectory = root.appendingPathComponent("examples")
let examples = ((try? FileManager.default.contentsOfDirectory(atPath: exampleDirectory.path)) ?? [])
    .filter { $0.hasSuffix(".jsonl") }.sorted()
for file in examples {
    let text = try String(contentsOf: exampleDirectory.appendingPathComponent(file), encoding: .utf8)
    for (index, line) in text.split(separator: "\n").enumerated() {
        let name = "\(file):\(index + 1)"
        guard let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let direction = entry["direction"] as? String, let message = entry["message"]
        else {
            report(name, "not an example line with direction and message")
            continue
        }
        let canonical = String(
            decoding: try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys, .withoutEscapingSlashes]),
            as: UTF8.self)
        do {
            let again = try roundTrip(kind: direction == "client" ? "request" : "server", text: canonical)
            let reparsed = try JSONSerialization.jsonObject(with: Data(again.utf8)) as? NSDictionary
            report(name, reparsed == (message as? NSDictionary) ? nil : "re-encoded differently: \(again)")
        } catch {
            report(name, "does not decode: \(error)")
        }
    }
}

// Frame vectors: what FrameParser and decodeRequest (the server's rules) make of the bytes, sent as the
// first frame after the handshake and followed by the peer closing its side.
func frameOutcome(_ bytes: [UInt8]) -> [String: AnyHashable] {
    var parser = FrameParser()
    parser.append(bytes)
    do throws(OrchestratorError) {
        guard let body = try parser.nextFrame() else {
            // The stream ended inside a frame: the server closes without an answer.
            do throws(OrchestratorError) { try parser.finish() } catch { return ["closed": true] }
            return ["nothing": true]
        }
        do throws(RequestDecodingError) {
            _ = try MessageCodec.decodeRequest(from: body)
            return ["request": true]
        } catch {
            if case .malformed = error { return ["error": error.error.code.rawValue] }
            return ["answered": error.error.code.rawValue]
        }
    } catch {
        return ["error": error.code.rawValue]
    }
}

let frameDirectory = vectorDirectory.appendingPathComponent("frames")
let frameFiles = ((try? FileManager.default.contentsOfDirectory(atPath: frameDirectory.path)) ?? [])
    .filter { $0.hasSuffix(".json") }.sorted()
for file in frameFiles {
    let name = "frames/\(file)"
    let data = try Data(contentsOf: frameDirectory.appendingPathComponent(file))
    guard let vector = try JSONSerialization.jsonObject(with: data) as? [String: Any],
        let bytesHex = vector["bytesHex"] as? String, let expect = vector["expect"] as? [String: Any]
    else {
        report(name, "not a frame vector with bytesHex and expect")
        continue
    }
    var bytes: [UInt8] = []
    var index = bytesHex.startIndex
    while index < bytesHex.endIndex, let next = bytesHex.index(index, offsetBy: 2, limitedBy: bytesHex.endIndex),
        let byte = UInt8(bytesHex[index..<next], radix: 16)
    {
        bytes.append(byte)
        index = next
    }
    let expected: [String: AnyHashable] =
        if let code = expect["error"] as? String { ["error": code] } else { ["closed": true] }
    let actual = frameOutcome(bytes)
    report(name, actual == expected ? nil : "FrameParser and decodeRequest give \(actual), the vector expects \(expected)")
}

print("swift round trip: \(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
