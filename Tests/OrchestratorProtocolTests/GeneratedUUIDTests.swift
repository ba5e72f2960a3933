import Foundation
import OrchestratorProtocol
import Testing

@Suite("Generated UUIDs")
struct GeneratedUUIDTests {
    /// The 16 bytes of a lowercase UUID that Foundation reads back.
    private func bytes(_ id: String) throws -> [UInt8] {
        let uuid = try #require(UUID(uuidString: id), "\(id)")
        #expect(uuid.uuidString.lowercased() == id)
        return withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    @Test("time-ordered ids are distinct version-7 UUIDs that carry their time and sort by it")
    func timeOrdered() throws {
        var seen: Set<String> = []
        let start = Timestamp.now().milliseconds
        for index in 0..<1_000 {
            let milliseconds = start + Int64(index / 10)
            let id = GeneratedUUID.timeOrdered(unixMilliseconds: milliseconds)
            let bytes = try bytes(id)
            #expect(bytes.prefix(6).reduce(Int64(0)) { $0 << 8 | Int64($1) } == milliseconds, "time of \(id)")
            #expect(bytes[6] >> 4 == 7, "version nibble of \(id)")
            #expect(bytes[8] >> 6 == 0b10, "variant bits of \(id)")
            seen.insert(id)
        }
        #expect(seen.count == 1_000)
        // Ids of a later millisecond sort after those of an earlier one, as text too.
        let early = GeneratedUUID.timeOrdered(unixMilliseconds: start)
        #expect(early < GeneratedUUID.timeOrdered(unixMilliseconds: start + 1))
        #expect(GeneratedUUID.timeOrdered() > early)
    }

    @Test("random ids are distinct version-4 UUIDs")
    func random() throws {
        var seen: Set<String> = []
        for _ in 0..<1_000 {
            let id = GeneratedUUID.random()
            let bytes = try bytes(id)
            #expect(bytes[6] >> 4 == 4, "version nibble of \(id)")
            #expect(bytes[8] >> 6 == 0b10, "variant bits of \(id)")
            seen.insert(id)
        }
        #expect(seen.count == 1_000)
    }
}
