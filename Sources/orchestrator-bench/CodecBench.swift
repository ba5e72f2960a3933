import ArgumentParser
import Foundation
import OrchestratorProtocol

/// Microseconds to decode and to encode each message of `Protocol/vectors`: the JSON cost every
/// request and response pays on the server, the worker and the client.
struct CodecBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Decode and encode cost of each protocol vector, in microseconds; prints one JSON object.")

    @Option(help: "The vectors directory.") var vectors = "Protocol/vectors"
    @Option(help: "Repetitions per vector.") var repetitions = 20_000
    @Option(help: "Only the vectors whose name contains this.") var only: String?

    func run() async throws {
        let directory = URL(fileURLWithPath: vectors)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        var results: [String: JSONValue] = [:]
        for file in files {
            let vector = try JSONDecoder().decode(
                VectorFile.self, from: Data(contentsOf: directory.appendingPathComponent(file)))
            let bytes = Data(vector.json.utf8)
            let name = vector.name
            if let only, !name.contains(only) { continue }
            if vector.kind == "request" {
                let message = try MessageCodec.decodeRequest(from: bytes)
                let decode = measure { _ = try? MessageCodec.decodeRequest(from: bytes) }
                let encode = measure { _ = try? MessageCodec.encode(message) }
                results[name] = [
                    "bytes": .int(Int64(bytes.count)), "decode_us": .double(decode), "encode_us": .double(encode),
                ]
            } else {
                let message = try MessageCodec.decodeServerMessage(from: bytes)
                let decode = measure { _ = try? MessageCodec.decodeServerMessage(from: bytes) }
                let encode = measure { _ = try? MessageCodec.encode(message) }
                results[name] = [
                    "bytes": .int(Int64(bytes.count)), "decode_us": .double(decode), "encode_us": .double(encode),
                ]
            }
        }
        print(JSONValue.object(results).jsonText)
    }

    /// Microseconds per call, best of three rounds.
    func measure(_ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let started = ContinuousClock.now
            for _ in 0..<repetitions { body() }
            let total = milliseconds(ContinuousClock.now - started) * 1000
            best = min(best, total / Double(repetitions))
        }
        return (best * 100).rounded() / 100
    }
}

private struct VectorFile: Decodable {
    var name: String
    var kind: String
    var json: String
}
