#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A point in time, in milliseconds since the Unix epoch (UTC).
///
/// On the wire a timestamp is an ISO 8601 string with milliseconds: `"2026-11-22T10:15:30.125Z"`.
public struct Timestamp: Sendable, Hashable, Comparable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// This time moved by `milliseconds`.
    public func adding(milliseconds delta: Int64) -> Timestamp {
        let (sum, overflow) = milliseconds.addingReportingOverflow(delta)
        return Timestamp(milliseconds: overflow ? Int64.max : sum)
    }

    /// `"2026-11-22T10:15:30.125Z"`.
    public var iso8601: String {
        let parts = parts
        guard Self.hasFourDigitYear(parts) else { return Self.generalForm(parts) }
        // One allocation: the 24 bytes written in place.
        return String(unsafeUninitializedCapacity: 24) { buffer in
            Self.put(parts, into: buffer)
            return 24
        }
    }

    /// Appends `iso8601` as a JSON string (quoted; nothing in it needs escaping) without making a
    /// `String`: what `JSONWriter.write(string: iso8601)` writes.
    func appendQuotedISO8601(to bytes: inout [UInt8]) {
        let parts = parts
        guard Self.hasFourDigitYear(parts) else {
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: Self.generalForm(parts).utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "\""), count: 26))
        bytes.withUnsafeMutableBufferPointer { all in
            Self.put(parts, into: UnsafeMutableBufferPointer(rebasing: all[(start + 1)..<(start + 25)]))
        }
    }

    private typealias Parts = (year: Int, month: Int, day: Int, secondOfDay: Int, millis: Int)

    private var parts: Parts {
        let millis = Int(((milliseconds % 1000) + 1000) % 1000)
        var seconds = (milliseconds - Int64(millis)) / 1000
        let secondOfDay = Int(((seconds % 86_400) + 86_400) % 86_400)
        seconds -= Int64(secondOfDay)
        let (year, month, day) = Self.civil(fromDays: seconds / 86_400)
        return (year, month, day, secondOfDay, millis)
    }

    private static func hasFourDigitYear(_ parts: Parts) -> Bool { (0...9999).contains(parts.year) }

    /// Outside four-digit years (never written by the server): each field padded, the year as it is.
    private static func generalForm(_ parts: Parts) -> String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        let (year, month, day, secondOfDay, millis) = parts
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS.fffZ` into 24 bytes.
    private static func put(_ parts: Parts, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var value = value
            for index in stride(from: offset + width - 1, through: offset, by: -1) {
                buffer[index] = UInt8(48 + value % 10)
                value /= 10
            }
        }
        put(parts.year, 4, at: 0)
        buffer[4] = 45  // -
        put(parts.month, 2, at: 5)
        buffer[7] = 45
        put(parts.day, 2, at: 8)
        buffer[10] = 84  // T
        put(parts.secondOfDay / 3600, 2, at: 11)
        buffer[13] = 58  // :
        put(parts.secondOfDay / 60 % 60, 2, at: 14)
        buffer[16] = 58
        put(parts.secondOfDay % 60, 2, at: 17)
        buffer[19] = 46  // .
        put(parts.millis, 3, at: 20)
        buffer[23] = 90  // Z
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC only, as the protocol writes it).
    public init?(iso8601 text: String) {
        var text = text
        guard let value = text.withUTF8({ Self.parse($0) }) else { return nil }
        self.milliseconds = value
    }

    /// Parses the UTF-8 bytes of `YYYY-MM-DDTHH:MM:SS[.fff]Z`, as `init?(iso8601:)` parses its text.
    init?(iso8601UTF8 bytes: UnsafeBufferPointer<UInt8>) {
        guard let value = Self.parse(bytes) else { return nil }
        self.milliseconds = value
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84 || bytes[10] == 116,
            bytes[13] == 58, bytes[16] == 58,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var millis = 0
        if bytes[index] == 46 {  // '.'
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard index == bytes.count - 1, bytes[index] == 90 || bytes[index] == 122 else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let total = ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60 + Int64(second)
        return total * 1000 + Int64(millis)
    }

    // Howard Hinnant's days-from-civil algorithms.
    private static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}

extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected an ISO 8601 UTC time like 2026-11-22T10:15:30.125Z, got \(text)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

extension Timestamp: CustomStringConvertible {
    public var description: String { iso8601 }
}
