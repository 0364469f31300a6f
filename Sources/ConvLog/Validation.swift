import EventLog
import JSON

/// Checks of identifiers and sizes shared by the service's operations.
enum Validation {
    /// The characters of a session id: `[A-Za-z0-9._:-]`, 1–128 of them.
    static func sessionID(_ value: String) throws -> String {
        guard (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
            })
        else {
            throw ConvLogError.invalid("sessionId", "must be 1–128 characters of A-Z a-z 0-9 . _ : -")
        }
        return value
    }

    /// Message and user ids: 1–128 bytes of UTF-8 without control characters.
    @discardableResult
    static func identifier(_ value: String, field: String) throws -> String {
        guard (1...128).contains(value.utf8.count), !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ConvLogError.invalid(field, "must be 1–128 bytes without control characters")
        }
        return value
    }

    static func size(of value: JSONValue, field: String, limit: Int) throws {
        guard value.canonicalBytes.count <= limit else { throw ConvLogError.tooLarge(field, limit: limit) }
    }
}
