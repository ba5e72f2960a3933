/// Parses UTF-8 JSON text (RFC 8259, strictly: no trailing commas, no leading zeros, no lone
/// surrogates, no invalid UTF-8) into a `JSONTape`: one flat array of entries over the text, whose
/// strings stay bytes until a reader asks for them (see `JSONTape`).
struct JSONParser: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    private var deepest = 0
    private let maximumDepth: Int
    private var entries: [JSONTape.Entry] = []
    private var decoded: [String] = []

    /// Parses one JSON value that fills `bytes` (whitespace around it allowed); `deepest` is how
    /// deeply its arrays and objects nest.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int, deepest: inout Int)
        throws(JSONParseError) -> JSONTape
    {
        guard bytes.count < Int(UInt32.max) else {
            throw JSONParseError(message: "a JSON text of \(bytes.count) bytes is larger than 4 GiB")
        }
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth)
        // About one entry for every 12 bytes of the protocol's messages.
        parser.entries.reserveCapacity(bytes.count / 12 + 4)
        parser.skipWhitespace()
        try parser.value()
        parser.skipWhitespace()
        if parser.index != bytes.count { throw parser.error("unexpected text after the JSON value") }
        deepest = parser.deepest
        return JSONTape(entries: parser.entries, decodedStrings: parser.decoded)
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private func error(_ message: String) -> JSONParseError {
        JSONParseError(message: "\(message) at byte \(index)")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func append(_ kind: JSONTape.Kind, bits: UInt64 = 0) {
        let position = UInt32(truncatingIfNeeded: entries.count)
        entries.append(JSONTape.Entry(kind: kind, start: 0, length: 0, end: position &+ 1, bits: bits))
    }

    private mutating func value() throws(JSONParseError) {
        guard index < bytes.count else { throw error("unexpected end of the JSON text") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try object()
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"):
            try literal("true")
            append(.true)
        case UInt8(ascii: "f"):
            try literal("false")
            append(.false)
        case UInt8(ascii: "n"):
            try literal("null")
            append(.null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            switch try number() {
            case .int(let value): append(.int, bits: UInt64(bitPattern: value))
            case .uint(let value): append(.uint, bits: value)
            case .double(let value): append(.double, bits: value.bitPattern)
            }
        default:
            throw error("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of the JSON text") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("unexpected character")
        }
        index += count
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        deepest = max(deepest, depth)
        if depth > maximumDepth { throw error("nested more than \(maximumDepth) levels deep") }
    }

    /// Starts a container's entry; `close` fills in its count and end.
    private mutating func open(_ kind: JSONTape.Kind) throws(JSONParseError) -> Int {
        try enter()
        index += 1
        let position = entries.count
        entries.append(
            JSONTape.Entry(kind: kind, start: UInt32(truncatingIfNeeded: index - 1), length: 0, end: 0, bits: 0))
        return position
    }

    private mutating func close(_ position: Int, count: Int) {
        index += 1
        depth -= 1
        entries[position].length = UInt32(truncatingIfNeeded: count)
        entries[position].end = UInt32(truncatingIfNeeded: entries.count)
    }

    private mutating func object() throws(JSONParseError) {
        let position = try open(.object)
        var count = 0
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            close(position, count: 0)
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a member name in quotes")
            }
            try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            try value()
            count += 1
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the JSON text") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
            close(position, count: count)
            return
        }
    }

    private mutating func array() throws(JSONParseError) {
        let position = try open(.array)
        var count = 0
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            close(position, count: 0)
            return
        }
        while true {
            skipWhitespace()
            try value()
            count += 1
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the JSON text") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
            close(position, count: count)
            return
        }
    }

    /// A string starting at the opening quote: an entry for its bytes when they need no unescaping,
    /// else for its text, decoded now.
    private mutating func string() throws(JSONParseError) {
        index += 1
        let start = index
        var ascii = true
        // Eight bytes at a time up to the first byte that ends the plain run (a quote, a backslash, a
        // control character or a byte of a non-ASCII character): one byte at a time took about 7
        // instructions a byte, 8 % of a worker's instructions (callgrind). The loop below reads from
        // that byte (or the last few bytes of the text).
        if let base = bytes.baseAddress, bytes.count >= 8 {
            let raw = UnsafeRawPointer(base)
            let last = bytes.count - 8
            var position = index
            while position <= last {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                let ends = JSONWords.plainRunEnds(word)
                if ends != 0 {
                    position += ends.trailingZeroBitCount >> 3
                    break
                }
                position += 8
            }
            index = position
        }
        // Fast path: no escapes up to the closing quote.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if !ascii {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    guard String(validating: slice, as: UTF8.self) != nil else {
                        throw JSONParseError(message: "a string is not valid UTF-8 at byte \(start)")
                    }
                }
                let position = UInt32(truncatingIfNeeded: entries.count)
                entries.append(
                    JSONTape.Entry(
                        kind: ascii ? .asciiString : .string, start: UInt32(truncatingIfNeeded: start),
                        length: UInt32(truncatingIfNeeded: index - start), end: position &+ 1, bits: 0))
                index += 1
                return
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("a control character inside a string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string") }
        // Slow path: unescape into a buffer.
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: buffer, as: UTF8.self) else {
                    throw JSONParseError(message: "a string is not valid UTF-8 at byte \(start)")
                }
                let position = UInt32(truncatingIfNeeded: entries.count)
                entries.append(
                    JSONTape.Entry(
                        kind: .decodedString, start: UInt32(truncatingIfNeeded: start),
                        length: UInt32(truncatingIfNeeded: index - start), end: position &+ 1,
                        bits: UInt64(decoded.count)))
                decoded.append(text)
                index += 1
                return
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unterminated string") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = UInt32(try hex4())
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("a lone UTF-16 surrogate in a \\u escape") }
                        index += 2
                        let low = UInt32(try hex4())
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw error("a lone UTF-16 surrogate in a \\u escape")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("a lone UTF-16 surrogate in a \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("an invalid \\u escape") }
                    buffer.append(contentsOf: UTF8.encode(unicode)!)
                default:
                    throw error("an invalid escape in a string")
                }
            default:
                if byte < 0x20 { throw error("a control character inside a string") }
                buffer.append(byte)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    private mutating func hex4() throws(JSONParseError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw error("unterminated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("an invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    private mutating func number() throws(JSONParseError) -> JSONNumber {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw error("a number needs digits")
        }
        // Integer part: accumulate while it fits.
        var magnitude: UInt64 = 0
        var overflow = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                throw error("a number must not have leading zeros")
            }
        } else {
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                let digit = UInt64(bytes[index] - UInt8(ascii: "0"))
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { magnitude = sum }
                index += 1
            }
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
                throw error("a fraction needs digits")
            }
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
                throw error("an exponent needs digits")
            }
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        if integral && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) { return .int(-Int64(magnitude)) }
                if magnitude == UInt64(Int64.max) + 1 { return .int(Int64.min) }
            } else {
                if magnitude <= UInt64(Int64.max) { return .int(Int64(magnitude)) }
                return .uint(magnitude)
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            throw JSONParseError(message: "the number \(text) at byte \(start) is out of range")
        }
        // Integral values in range are integers, as the protocol keeps them (1.0 and 1e3 are 1 and 1000).
        if double.rounded(.towardZero) == double, double >= -9.223_372_036_854_775_808e18,
            double < 9.223_372_036_854_775_808e18
        {
            return .int(Int64(double))
        }
        return .double(double)
    }
}

/// JSON text that does not parse.
struct JSONParseError: Error, CustomStringConvertible {
    var message: String
    var description: String { "invalid JSON: \(message)" }
}
