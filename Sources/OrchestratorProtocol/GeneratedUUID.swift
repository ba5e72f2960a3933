/// UUIDs in lowercase, their random bits from the system's generator (`getrandom`; Foundation's
/// `UUID()` opens, reads and closes /dev/urandom for each one).
public enum GeneratedUUID {
    /// Time-ordered (version 7, RFC 9562): the Unix time in milliseconds, then 74 random bits. Ids
    /// made later sort after earlier ones, so where they key a B-tree (the server's run ids, a
    /// client's request ids) new rows go to its last page instead of a random one.
    public static func timeOrdered(unixMilliseconds: Int64 = Timestamp.now().milliseconds) -> String {
        make(version: 7) { bytes in
            let time = UInt64(clamping: unixMilliseconds)
            for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: time >> (8 * (5 - index))) }
        }
    }

    /// Random (version 4), as Temporal's SDKs make request ids.
    public static func random() -> String {
        make(version: 4) { _ in }
    }

    private static func make(version: UInt8, _ fill: (inout UnsafeMutableRawBufferPointer) -> Void) -> String {
        var generator = SystemRandomNumberGenerator()
        var words = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &words) { raw in
            var bytes = raw
            fill(&bytes)
            bytes[6] = (bytes[6] & 0x0F) | (version << 4)
            bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
            return text(of: UnsafeRawBufferPointer(bytes))
        }
    }

    /// The canonical lowercase text of 16 bytes (8-4-4-4-12 hex digits), written directly:
    /// Foundation's `uuidString` formats each byte with `snprintf`, 2 % of a client's samples.
    private static func text(of bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: 36) { out in
            let digits: StaticString = "0123456789abcdef"
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                let byte = bytes[index]
                out[position] = digits.utf8Start[Int(byte >> 4)]
                out[position + 1] = digits.utf8Start[Int(byte & 0x0F)]
                position += 2
            }
            return position
        }
    }
}
