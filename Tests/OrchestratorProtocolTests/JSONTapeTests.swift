import Foundation
import Testing

@testable import OrchestratorProtocol

@Suite("JSON tape: what the direct readers see")
struct JSONTapeTests {
    /// Documents of every kind of value, nested, with escapes, non-ASCII text and each number form.
    static let documents: [String] = [
        #"null"#, #"true"#, #"false"#, #"0"#, #"-12"#, #"1.5"#, #"1e3"#, #"-0.25e-2"#,
        #"18446744073709551615"#, #"9223372036854775807"#, #"-9223372036854775808"#,
        #""""#, #""plain""#, #""caf\u00e9 \"quoted\" \\ \n""#, #""é 😀""#, #""\ud83d\ude00""#,
        #"[]"#, #"{}"#, #"[[],{},[{}],{"a":[]}]"#,
        #"{"a":1,"b":[true,false,null],"c":{"d":"e","f":{"g":[1,2,{"h":"i"}]}},"j":"k"}"#,
        #"{"long member name beyond fifteen bytes":"a value beyond fifteen bytes, too","x":-1}"#,
        #"{"WorkflowTaskScheduled":"WorkflowTaskScheduled","scheduledEventId":9}"#,
        #"{"caf\u00e9":"\u00e9","é":[1.25,-3,0.0],"\"":"\\"}"#,
        #" { "spaced" : [ 1 , 2 ] , "out" : { } } "#,
    ]

    /// A payload as Foundation's decoder reads the same text: the reference.
    static func reference(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test("every value reads as a payload as Foundation's parser reads it, and as the tree does", arguments: documents)
    func payloads(_ text: String) throws {
        let fromTape = try MessageCodec.withParsed(Array(text.utf8)) { root, _ in root.jsonValue }
        var depth = 0
        let fromTree = try MessageCodec.parse(Array(text.utf8), deepest: &depth).jsonValue
        #expect(fromTape == fromTree)
        // Beyond Int64 the protocol reads a double, which Foundation's decoder may round otherwise.
        if text != #"18446744073709551615"# {
            #expect(fromTape == (try Self.reference(text)), "\(text)")
        }
    }

    @Test("members are found by name however the name is written; the first of repeated names wins")
    func memberLookup() throws {
        let text = #"{"a":{"deep":[1,[2,[3,{"x":4}]]]},"x":"second","x":"third","ab":5,"":6,"t\u0061sk":7,"é":8}"#
        try MessageCodec.withParsed(Array(text.utf8)) { root, _ in
            let object = try #require(root.object)
            #expect(object.string("x") == "second")  // after a nested value: the lookup steps over it whole
            #expect(object.int64("ab") == 5)
            #expect(object.int64("") == 6)
            #expect(object.int64("task") == 7)  // an escaped name
            #expect(object.int64("é") == 8)  // a non-ASCII name
            #expect(object.first("a\u{0}") == nil)
            #expect(object.first("abc") == nil)
            #expect(object.first("b") == nil)
            let nested = try #require(object.object("a")?.first("deep")?.array)
            #expect(nested.count == 2)
            #expect(Array(nested).map(\.kind) == [.int, .array])
            #expect(Array(object.members).map { $0.name.string } == ["a", "x", "x", "ab", "", "task", "é"])
            guard case .object(let payload) = root.jsonValue else { throw JSONTapeTestError.notAnObject }
            #expect(payload["x"] == .string("second"))
        }
    }

    @Test("a string compares with a name as its text does, escaped or not")
    func stringComparison() throws {
        let text = #"["workflowQuery","workflow\u0051uery","workflowQuer","workflowQueryy","é"]"#
        let matches = try MessageCodec.withParsed(Array(text.utf8)) { root, _ in
            Array(try #require(root.array)).map { $0.isString("workflowQuery") }
        }
        #expect(matches == [true, true, false, false, false])
    }

    @Test("enum names are found by their bytes: every case, and nothing else")
    func byteNames() throws {
        func check<T: ByteNamed & CaseIterable & Equatable>(_ type: T.Type) throws {
            for value in T.allCases {
                let name = value.rawValue
                let texts = [
                    "\"\(name)\"", "\"\\u00\(String(name.utf8.first!, radix: 16))\(name.dropFirst())\"",  // escaped
                    "\"\(name)x\"", "\"\(name.dropLast())\"", "\"x\(name.dropFirst())\"", "\"\(name.lowercased())\"",
                    "7",
                ]
                let found = try texts.map { text in
                    try MessageCodec.withParsed(Array(text.utf8)) { root, _ in root.name(T.self) }
                }
                let expectedLowercased: T? = name.lowercased() == name ? value : nil
                #expect(found == [value, value, nil, nil, nil, expectedLowercased, nil], "\(name)")
            }
        }
        try check(EventType.self)
        try check(OperationName.self)
        try check(CommandType.self)
    }

    @Test("timestamps read from the text's bytes as from its string")
    func timestamps() throws {
        let text =
            #"{"t":"2026-12-03T11:54:08.935Z","e":"2026-12-03T11:54:08.93\u0035Z","bad":"2026-13-03T11:54:08Z","n":5}"#
        try MessageCodec.withParsed(Array(text.utf8)) { root, _ in
            let object = try #require(root.object)
            #expect(object.timestamp("t") == Timestamp(iso8601: "2026-12-03T11:54:08.935Z"))
            #expect(object.timestamp("e") == Timestamp(iso8601: "2026-12-03T11:54:08.935Z"))
            #expect(object.timestamp("bad") == nil)
            #expect(object.timestamp("n") == nil)
            #expect(object.timestamp("missing") == nil)
        }
    }
}

private enum JSONTapeTestError: Error { case notAnObject }
