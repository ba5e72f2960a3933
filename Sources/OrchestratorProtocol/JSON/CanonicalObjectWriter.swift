/// Writes one JSON object member by member straight to its canonical text, as Codable's synthesized
/// `encodeIfPresent` would: absent optionals are left out. The caller gives the keys in canonical
/// order (sorted by their UTF-8 bytes, each once; debug builds check it). Event attributes, the
/// store's state rows and the direct writers of messages (`DirectAnswers.swift`,
/// `DirectRequests.swift`) use it: no tree to build, walk and free; tests compare the bytes with
/// Codable's.
public struct CanonicalObjectWriter {
    private var writer: JSONWriter
    private var empty = true
    #if DEBUG
        private var lastKey: String?
    #endif

    public init() { writer = JSONWriter(capacity: 128) }

    /// `capacity`: about how many members, to reserve room for the text.
    public init(capacity: Int) { writer = JSONWriter(capacity: 16 + 32 * capacity) }

    private mutating func key(_ name: StaticString) {
        #if DEBUG
            let text = name.description
            if let lastKey {
                assert(JSONKeys.precedes(lastKey, text), "members out of canonical order: \(lastKey), \(text)")
            }
            lastKey = text
        #endif
        // `{"name":` or `,"name":` in one append (keys are plain ASCII names: nothing to escape);
        // four appends were 4 % of the server's instructions (callgrind).
        writer.appendQuoted(
            UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
            before: empty ? UInt8(ascii: "{") : UInt8(ascii: ","), after: UInt8(ascii: ":"))
        empty = false
    }

    public mutating func int(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        writer.write(integer: value)
    }

    public mutating func uint(_ name: StaticString, _ value: UInt64?) {
        guard let value else { return }
        key(name)
        writer.write(unsigned: value)
    }

    public mutating func bool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        writer.append(value ? "true" : "false")
    }

    public mutating func double(_ name: StaticString, _ value: Double?) throws {
        guard let value else { return }
        key(name)
        do {
            try writer.write(double: value)
        } catch {
            throw error.encodingError(value)
        }
    }

    public mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        writer.write(string: value)
    }

    /// The time in ISO 8601 (`Timestamp.iso8601`), written in place.
    public mutating func timestamp(_ name: StaticString, _ value: Timestamp?) {
        guard let value else { return }
        key(name)
        value.appendQuotedISO8601(to: &writer.bytes)
    }

    public mutating func payload(_ name: StaticString, _ value: JSONValue?) throws {
        guard let value else { return }
        key(name)
        do {
            try writer.write(value)
        } catch {
            throw error.encodingError(value)
        }
    }

    public mutating func strings(_ name: StaticString, _ value: [String]?) {
        guard let value else { return }
        key(name)
        writer.bytes.append(UInt8(ascii: "["))
        for (offset, item) in value.enumerated() {
            if offset > 0 { writer.bytes.append(UInt8(ascii: ",")) }
            writer.write(string: item)
        }
        writer.bytes.append(UInt8(ascii: "]"))
    }

    /// A member whose value is already canonical JSON.
    public mutating func raw(_ name: StaticString, _ json: [UInt8]?) {
        guard let json else { return }
        key(name)
        writer.bytes.append(contentsOf: json)
    }

    /// A member that is an object written by another writer.
    public mutating func object(_ name: StaticString, _ object: consuming CanonicalObjectWriter) {
        raw(name, object.finish())
    }

    /// A member of any encoded value (a tree Codable built, or text written before).
    mutating func value(_ name: StaticString, _ value: EncodedValue) throws {
        key(name)
        try CanonicalArrayWriter.write(value, to: &writer)
    }

    /// An array member whose items `body` writes.
    mutating func array(_ name: StaticString, _ body: (inout CanonicalArrayWriter) throws -> Void) rethrows {
        key(name)
        var array = CanonicalArrayWriter(writer: writer)
        writer = JSONWriter(capacity: 0)
        defer { writer = array.close() }
        try body(&array)
    }

    public consuming func finish() -> [UInt8] {
        if empty { writer.bytes.append(UInt8(ascii: "{")) }
        writer.bytes.append(UInt8(ascii: "}"))
        return writer.bytes
    }
}

/// The items of an array member of a `CanonicalObjectWriter`, written in place.
struct CanonicalArrayWriter {
    private var writer: JSONWriter
    private var empty = true

    fileprivate init(writer: JSONWriter) {
        self.writer = writer
        self.writer.bytes.append(UInt8(ascii: "["))
    }

    private mutating func separate() {
        if !empty { writer.bytes.append(UInt8(ascii: ",")) }
        empty = false
    }

    /// An item of any encoded value (a tree Codable built, or text written before).
    mutating func append(_ value: EncodedValue) throws {
        separate()
        try Self.write(value, to: &writer)
    }

    /// An item that is an object written by a writer of its own.
    mutating func append(_ object: consuming CanonicalObjectWriter) {
        separate()
        writer.bytes.append(contentsOf: object.finish())
    }

    fileprivate consuming func close() -> JSONWriter {
        writer.bytes.append(UInt8(ascii: "]"))
        return writer
    }

    /// Writes a tree, with a payload that cannot be written reported as Codable reports it.
    fileprivate static func write(_ value: EncodedValue, to writer: inout JSONWriter) throws {
        do {
            try writer.write(value)
        } catch {
            throw error.encodingError(value)
        }
    }
}
