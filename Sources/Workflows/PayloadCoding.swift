import Foundation
import OrchestratorProtocol

/// Converts between Codable values and the protocol's JSON payloads.
public enum PayloadCoding {
    /// Encodes a value as a payload (nil for `NoArguments` and `Optional.none`).
    public static func encode<T: Encodable>(_ value: T) throws -> JSONValue? {
        if value is NoArguments { return nil }
        // Authors' types go through Foundation's coders, so that Date, Data and URL keep Foundation's
        // JSON forms; the payload itself is read and written by the protocol's codec.
        let data = try JSONEncoder().encode(value)
        let json = try MessageCodec.decode(JSONValue.self, from: data)
        return json == .null ? nil : json
    }

    /// Decodes a payload into a value; an absent payload decodes as JSON null.
    public static func decode<T: Decodable>(_ type: T.Type, from payload: JSONValue?) throws -> T {
        if type == NoArguments.self, let value = NoArguments() as? T { return value }
        do {
            let data = try MessageCodec.encode(payload ?? .null)
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw PayloadError(
                "cannot read \(String(describing: T.self)) from \((payload ?? .null).jsonText): \(error.readableDescription)"
            )
        }
    }
}

/// A payload that does not fit the type it is read as.
public struct PayloadError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
