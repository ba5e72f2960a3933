import Foundation

/// Time-ordered UUIDs (version 7, RFC 9562) in lowercase: the Unix time in milliseconds, then 74
/// random bits from the system's generator (`getrandom`; Foundation's `UUID()` opens, reads and
/// closes /dev/urandom for each one). Ids made later sort after earlier ones, so where they are
/// the key of a B-tree (the server's run ids, a client's request ids) new rows go to its last
/// page instead of a random one.
public enum TimeOrderedUUID {
    public static func make(unixMilliseconds: Int64 = Timestamp.now().milliseconds) -> String {
        var generator = SystemRandomNumberGenerator()
        var words = (generator.next() as UInt64, generator.next() as UInt64)
        let uuid = withUnsafeMutableBytes(of: &words) { bytes in
            let time = UInt64(clamping: unixMilliseconds)
            for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: time >> (8 * (5 - index))) }
            bytes[6] = (bytes[6] & 0x0F) | 0x70  // version 7
            bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
            return UUID(uuid: bytes.load(as: uuid_t.self))
        }
        return uuid.uuidString.lowercased()
    }
}
