/// An object of a message written straight to its canonical JSON text, member by member, by the
/// direct writers of messages (`DirectAnswers.swift`, `DirectRequests.swift`): no tree of boxes to
/// build, walk and free. Members must be appended in canonical order (keys sorted by their UTF-8
/// bytes, each once; debug builds check it); absent optionals are left out, as Codable's
/// `encodeIfPresent` does. The text is the same as the tree's would be.
///
/// A payload that cannot be written (a non-finite number) is remembered and thrown by `value()`.
struct DirectObject {
    private var writer: JSONWriter
    private var empty = true
    private var failure: JSONWriteError?
    #if DEBUG
        private var lastKey: String?
    #endif

    /// `capacity`: about how many members, to reserve room for the text.
    init(capacity: Int = 8) { writer = JSONWriter(capacity: 16 + 32 * capacity) }

    private mutating func key(_ name: StaticString) {
        #if DEBUG
            let text = name.description
            if let lastKey {
                assert(JSONKeys.precedes(lastKey, text), "members out of canonical order: \(lastKey), \(text)")
            }
            lastKey = text
        #endif
        writer.bytes.append(empty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        empty = false
        writer.bytes.append(UInt8(ascii: "\""))
        writer.append(name)  // keys are plain ASCII names: nothing to escape
        writer.append("\":")
    }

    /// A member of any value (a tree from Codable, or text written before).
    mutating func append(_ name: StaticString, _ value: EncodedValue) {
        key(name)
        do { try writer.write(value) } catch { failure = failure ?? error }
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        writer.write(string: value)
    }

    mutating func int(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        writer.write(integer: value)
    }

    mutating func uint(_ name: StaticString, _ value: UInt64) {
        key(name)
        writer.write(unsigned: value)
    }

    mutating func bool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        writer.append(value ? "true" : "false")
    }

    mutating func timestamp(_ name: StaticString, _ value: Timestamp) {
        key(name)
        value.appendQuotedISO8601(to: &writer.bytes)
    }

    mutating func payload(_ name: StaticString, _ value: JSONValue?) {
        guard let value else { return }
        key(name)
        do { try writer.write(value) } catch { failure = failure ?? error }
    }

    /// A member whose value is canonical JSON text already.
    mutating func raw(_ name: StaticString, _ json: [UInt8]) {
        key(name)
        writer.bytes.append(contentsOf: json)
    }

    /// A member that is an object written directly.
    mutating func object(_ name: StaticString, _ object: consuming DirectObject) {
        do { append(name, try object.value()) } catch { failure = failure ?? error }
    }

    /// An array member of values written by `body`.
    mutating func array(_ name: StaticString, _ body: (inout DirectArray) throws -> Void) rethrows {
        key(name)
        var array = DirectArray(writer: writer)
        writer = JSONWriter(capacity: 0)
        defer {
            array.close()
            writer = array.writer
            if let error = array.failure { failure = failure ?? error }
        }
        try body(&array)
    }

    /// The object's text, or the first payload that could not be written.
    consuming func value() throws(JSONWriteError) -> EncodedValue {
        if let failure { throw failure }
        if empty { writer.bytes.append(UInt8(ascii: "{")) }
        writer.bytes.append(UInt8(ascii: "}"))
        return .raw(writer.bytes)
    }
}

/// The items of an array member of a `DirectObject`, written in place.
struct DirectArray {
    fileprivate var writer: JSONWriter
    fileprivate var failure: JSONWriteError?
    private var empty = true

    fileprivate init(writer: JSONWriter) {
        self.writer = writer
        self.writer.bytes.append(UInt8(ascii: "["))
    }

    private mutating func separate() {
        if !empty { writer.bytes.append(UInt8(ascii: ",")) }
        empty = false
    }

    /// An item of any value (a tree from Codable, or text written before).
    mutating func append(_ value: EncodedValue) {
        separate()
        do { try writer.write(value) } catch { failure = failure ?? error }
    }

    /// An item that is an object written directly.
    mutating func append(_ object: consuming DirectObject) {
        do { append(try object.value()) } catch { failure = failure ?? error }
    }

    fileprivate mutating func close() {
        writer.bytes.append(UInt8(ascii: "]"))
    }
}
