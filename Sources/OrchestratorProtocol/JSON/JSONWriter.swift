/// Writes JSON in the protocol's canonical form (Protocol/README.md §3.1): compact, object keys sorted
/// by their UTF-8 bytes, `/` and non-ASCII written raw, integral doubles without a fraction.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func write(_ value: EncodedValue) throws(JSONWriteError) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .int(let number): write(integer: number)
        case .uint(let number): write(unsigned: number)
        case .double(let number): try write(double: number)
        case .string(let text): write(string: text)
        case .payload(let payload): try write(payload)
        case .raw(let text): bytes.append(contentsOf: text)
        case .array(let box):
            bytes.append(UInt8(ascii: "["))
            var first = true
            for item in box.items {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                try write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let box):
            let members = box.sortedMembers()
            bytes.append(UInt8(ascii: "{"))
            for (offset, member) in members.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                write(string: member.key)
                bytes.append(UInt8(ascii: ":"))
                try write(member.value)
            }
            bytes.append(UInt8(ascii: "}"))
        case .deferred(let encoder):
            try write(encoder.value ?? .object(ObjectBox(capacity: 0)))
        }
    }

    mutating func write(_ value: JSONValue) throws(JSONWriteError) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .int(let number): write(integer: number)
        case .double(let number): try write(double: number)
        case .string(let text): write(string: text)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (offset, item) in items.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                try write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            // Keys in canonical order, by sorting the dictionary's indices in a temporary (stack)
            // buffer: payload objects are small, and a sorted copy of the members was a heap
            // allocation and a retain of every value per object written.
            try withUnsafeTemporaryAllocation(of: [String: JSONValue].Index.self, capacity: members.count) {
                (order) throws(JSONWriteError) in
                order.initialize(repeating: members.startIndex)
                defer { _ = order.deinitialize() }
                var count = 0
                for index in members.indices {
                    // Insertion sort: keys are unique, objects are small.
                    let key = members[index].key
                    var position = count
                    while position > 0 && JSONKeys.precedes(key, members[order[position - 1]].key) {
                        order[position] = order[position - 1]
                        position -= 1
                    }
                    order[position] = index
                    count += 1
                }
                for offset in 0..<count {
                    if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                    let member = members[order[offset]]
                    write(string: member.key)
                    bytes.append(UInt8(ascii: ":"))
                    try write(member.value)
                }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func write(integer: Int64) {
        if integer < 0 {
            bytes.append(UInt8(ascii: "-"))
            write(unsigned: integer.magnitude)
        } else {
            write(unsigned: UInt64(integer))
        }
    }

    mutating func write(unsigned: UInt64) {
        if unsigned < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(unsigned))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var count = 0
        var rest = unsigned
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                count += 1
                buffer[24 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            bytes.append(contentsOf: buffer[(24 - count)...])
        }
    }

    mutating func write(double: Double) throws(JSONWriteError) {
        guard double.isFinite else { throw JSONWriteError(message: "\(double) is not a valid JSON number") }
        bytes.append(contentsOf: Self.text(of: double).utf8)
    }

    /// The canonical text of a finite double: the shortest round-trip form, integral values without
    /// a fraction (`2.0` → `2`, `1e+20` stays).
    static func text(of double: Double) -> String {
        var text = double.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    mutating func write(string: String) {
        var string = string
        string.withUTF8 { utf8 in
            // Most strings (names, ids, times) need no escape: quotes and bytes in one append.
            if utf8.count <= 62, !Self.needsEscape(utf8) {
                appendQuoted(utf8)
                return
            }
            bytes.append(UInt8(ascii: "\""))
            defer { bytes.append(UInt8(ascii: "\"")) }
            var runStart = 0
            var index = 0
            let raw = UnsafeRawPointer(utf8.baseAddress)
            while index < utf8.count {
                // Eight bytes at a time while none needs an escape (JSONWords).
                if index + 8 <= utf8.count, let raw,
                    !JSONWords.needsEscape(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                {
                    index += 8
                    continue
                }
                let byte = utf8[index]
                index += 1
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                let escaped = index - 1
                if runStart < escaped {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<escaped]))
                }
                runStart = index
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [
                        UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                        hex[Int(byte & 0xF)],
                    ])
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
    }

    /// `before`, `"`, `text` (which needs no escape), `"` and `after`, in one append: each
    /// `Array.append(contentsOf:)` costs about 50 instructions besides the bytes (callgrind).
    mutating func appendQuoted(_ text: UnsafeBufferPointer<UInt8>, before: UInt8? = nil, after: UInt8? = nil) {
        let start = before == nil ? 0 : 1
        let count = start + text.count + 2 + (after == nil ? 0 : 1)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
            if let before { buffer[0] = before }
            buffer[start] = UInt8(ascii: "\"")
            if let base = text.baseAddress {
                (buffer.baseAddress! + start + 1).initialize(from: base, count: text.count)
            }
            buffer[start + text.count + 1] = UInt8(ascii: "\"")
            if let after { buffer[count - 1] = after }
            bytes.append(contentsOf: buffer)
        }
    }

    /// Whether any byte of `utf8` is one JSON text escapes in a string.
    private static func needsEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = utf8.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        var index = 0
        while index + 8 <= utf8.count {
            if JSONWords.needsEscape(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) { return true }
            index += 8
        }
        while index < utf8.count {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return true }
            index += 1
        }
        return false
    }
}

/// A value that JSON cannot hold (a NaN or infinite double).
struct JSONWriteError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }

    /// The error as Codable's encoders report a value they cannot write, which is what callers of
    /// the protocol's writers see.
    func encodingError(_ value: Any) -> EncodingError {
        .invalidValue(value, .init(codingPath: [], debugDescription: message))
    }
}
