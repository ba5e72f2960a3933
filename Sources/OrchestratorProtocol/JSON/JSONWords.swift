/// Tests of eight bytes of JSON text at once, in a `UInt64` read from the text: the parser and the
/// writer skip plain runs of a string's bytes with them instead of looking at each byte (about 7
/// instructions a byte, 8 % of a worker's instructions in the parser; callgrind).
///
/// A byte of `v` is zero exactly when `(v - 0x01…) & ~v` has its high bit set somewhere, and below
/// `n` ≤ 0x80 when `(v - n…) & ~v` has: the usual tests of bytes in a word, exact for "is there
/// one", which is all the callers ask (they read the word's bytes one at a time when there is).
enum JSONWords {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of every byte that JSON text escapes in a string: a quote, a backslash or a
    /// control character (below 0x20). Bytes above the first marked one may be marked wrongly (a
    /// borrow crosses them), but the lowest mark is exact.
    @inline(__always)
    private static func escapeMarks(_ word: UInt64) -> UInt64 {
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let zeroInQuotes = (quotes &- ones) & ~quotes
        let zeroInBackslashes = (backslashes &- ones) & ~backslashes
        let control = (word &- ones &* 0x20) & ~word
        return (zeroInQuotes | zeroInBackslashes | control) & highBits
    }

    /// Whether any of the eight bytes is one JSON text escapes in a string.
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool { escapeMarks(word) != 0 }

    /// The high bit of every byte that may end a plain run of a string the parser reads (one that
    /// needs an escape, or a byte of a non-ASCII character, whose UTF-8 the parser checks); zero
    /// when none does. The lowest mark is exact: `trailingZeroBitCount / 8` of a little-endian word
    /// is where the run ends.
    @inline(__always)
    static func plainRunEnds(_ word: UInt64) -> UInt64 { escapeMarks(word) | (word & highBits) }
}
