/// A Bloom filter of strings: "certainly never recorded" or "maybe recorded". The engine keeps one
/// of request ids and one of workflow ids that have had a run (``FilteredKeys``). Nearly every
/// request id a server sees is new, and so is the workflow id of nearly every start; without a
/// filter each costs a read of SQLite on the server's loop (a read transaction's locks and the pages
/// its cache lost to the last commit) only to find nothing: for request ids that was about 8 % of
/// the server's CPU in the incident benchmark.
///
/// It never answers "never" for a key it holds (no false negatives); it answers "maybe" for a key it
/// does not hold with a probability of about 0.1 % up to `capacity` keys (16 bits and 6 probes per
/// key), rising as it fills beyond that. A "maybe" is settled by the store. The filter lives in
/// memory only; the engine builds it from the store after a start (and keeps the lookups in the
/// store until then) and again, twice as large, when it is full.
struct KeyFilter: Sendable {
    private var words: [UInt64]
    private let mask: UInt64
    /// Keys it holds at its designed false-positive rate.
    let capacity: Int
    /// Keys inserted (a key inserted twice counts twice).
    private(set) var count = 0

    static let bitsPerKey = 16
    static let probes: UInt64 = 6

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        var bits = 64
        while bits < self.capacity * Self.bitsPerKey { bits <<= 1 }
        words = Array(repeating: 0, count: bits / 64)
        mask = UInt64(bits - 1)
    }

    var isFull: Bool { count > capacity }

    mutating func insert(_ key: String) {
        let (first, step) = Self.hashes(key)
        for probe in 0..<Self.probes {
            let bit = (first &+ probe &* step) & mask
            words[Int(bit >> 6)] |= 1 << (bit & 63)
        }
        count += 1
    }

    func mightContain(_ key: String) -> Bool {
        let (first, step) = Self.hashes(key)
        for probe in 0..<Self.probes {
            let bit = (first &+ probe &* step) & mask
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
        }
        return true
    }

    /// Two hashes for double hashing (Kirsch–Mitzenmacher): probe i is `first + i × step`. The
    /// step is odd, so the probes of one key differ for any table size (a power of two). Swift's
    /// hasher is seeded per process; the filter never leaves the process.
    private static func hashes(_ key: String) -> (UInt64, UInt64) {
        var hasher = Hasher()
        hasher.combine(key)
        let value = UInt64(bitPattern: Int64(hasher.finalize()))
        // Mix the 64 bits (splitmix64's finalizer) for a second, independent-looking word.
        var mixed = value &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        mixed ^= mixed >> 31
        return (value, mixed | 1)
    }
}
