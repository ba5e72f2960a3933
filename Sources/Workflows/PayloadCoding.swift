import Foundation
import OrchestratorProtocol

/// Converts between Codable values and the protocol's JSON payloads.
public enum PayloadCoding {
    /// Encodes a value as a payload (nil for `NoArguments` and `Optional.none`).
    public static func encode<T: Encodable>(_ value: T) throws -> JSONValue? {
        if value is NoArguments { return nil }
        // Straight to a payload, with no text in between; Date, Data and URL keep Foundation's JSON forms.
        let json = try MessageCodec.payload(from: value)
        return json == .null ? nil : json
    }

    /// Decodes a payload into a value; an absent payload decodes as JSON null.
    public static func decode<T: Decodable>(_ type: T.Type, from payload: JSONValue?) throws -> T {
        if type == NoArguments.self, let value = NoArguments() as? T { return value }
        do {
            return try MessageCodec.decode(T.self, fromPayload: payload ?? .null)
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
