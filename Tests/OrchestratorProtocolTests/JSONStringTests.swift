import OrchestratorProtocol
import Testing

@Suite("JSON parser and writer, strings")
struct JSONStringTests {
    /// What can end a run of plain bytes in a string, as written in the JSON text, and what it reads
    /// as (nil: the text is not valid JSON).
    static let specials: [(text: [UInt8], decoded: String?)] = [
        ([], ""),
        (Array(#"\""#.utf8), "\""),
        (Array(#"\\"#.utf8), "\\"),
        (Array(#"\n"#.utf8), "\n"),
        (Array(#"\u00e9"#.utf8), "é"),
        (Array("é".utf8), "é"),
        (Array("😀".utf8), "😀"),
        ([0x7F], "\u{7F}"),
        ([0x20], " "),
        ([0x01], nil),
        ([0x1F], nil),
        ([0xFF], nil),
        ([0xC3], nil),
    ]

    @Test("a string ends, unescapes and is checked the same wherever its special byte falls")
    func stringsAtEveryOffset() throws {
        // The parser skips plain bytes eight at a time: a special byte at each offset of a string of
        // each length up to three words, alone in the document (the string ends at the text's end)
        // and as an object's member name and value (text after it).
        let quote = UInt8(ascii: "\"")
        for length in 0...24 {
            for position in 0...length {
                for special in Self.specials {
                    var text = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    text.insert(contentsOf: special.text, at: position)
                    let expected = special.decoded.map {
                        String(repeating: "a", count: position) + $0 + String(repeating: "a", count: length - position)
                    }
                    let alone = [quote] + text + [quote]
                    let member = Array("{\"".utf8) + text + Array("\":\"".utf8) + text + Array("\",\"z\":1}".utf8)
                    let context = "length \(length), position \(position), special \(special.text)"
                    if let expected {
                        #expect(
                            try MessageCodec.decode(JSONValue.self, from: alone) == .string(expected), "\(context)")
                        #expect(
                            try MessageCodec.decode(JSONValue.self, from: member)
                                == .object([expected: .string(expected), "z": 1]), "\(context)")
                    } else {
                        #expect(throws: (any Error).self, "\(context)") {
                            try MessageCodec.decode(JSONValue.self, from: alone)
                        }
                        #expect(throws: (any Error).self, "\(context)") {
                            try MessageCodec.decode(JSONValue.self, from: member)
                        }
                    }
                }
            }
        }
    }

    @Test("a string is written with the same escapes wherever its special character falls")
    func writtenAtEveryOffset() throws {
        // The writer skips bytes that need no escape eight at a time.
        func reference(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case "\r": out += "\\r"
                case let control where control.value < 0x20:
                    out += "\\u00" + (control.value < 0x10 ? "0" : "") + String(control.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let specials = ["", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "\u{7F}", "é", "😀", "/", " "]
        // Up to three words, and around 62 bytes, where the writer stops writing a plain string in one piece.
        for length in Array(0...24) + Array(58...66) {
            for position in 0...length {
                for special in specials {
                    let text =
                        String(repeating: "a", count: position) + special
                        + String(repeating: "a", count: length - position)
                    let written = try MessageCodec.encodeToString(JSONValue.string(text))
                    #expect(
                        written == reference(text),
                        "length \(length), position \(position), \(special.debugDescription)")
                    #expect(try MessageCodec.decode(JSONValue.self, from: Array(written.utf8)) == .string(text))
                }
            }
        }
    }

    @Test("an unterminated string is refused however long its plain run")
    func unterminatedStrings() {
        for length in 0...24 {
            let text = [UInt8(ascii: "\"")] + [UInt8](repeating: UInt8(ascii: "b"), count: length)
            #expect(throws: (any Error).self, "length \(length)") {
                try MessageCodec.decode(JSONValue.self, from: text)
            }
        }
    }
}
