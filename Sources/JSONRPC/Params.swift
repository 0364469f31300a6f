import JSON

/// The named parameters of a call, read with errors that name the field at fault.
public struct Params: Sendable {
    private let members: [String: JSONValue]

    /// Reads `params`: absent is an empty object; anything but an object is invalid.
    public init(_ params: JSONValue?) throws {
        switch params {
        case nil: members = [:]
        case .object(let object)?: members = object
        case .array?: throw RPCError.invalidParams(field: "params", "must be an object (named parameters)")
        default: throw RPCError(code: RPCError.invalidRequestCode, message: "Invalid request: params must be an object or an array")
        }
    }

    /// The raw value of a member (nil when absent or null).
    public subscript(_ field: String) -> JSONValue? {
        guard let value = members[field], value != .null else { return nil }
        return value
    }

    public func string(_ field: String) throws -> String {
        guard let value = try optionalString(field) else { throw RPCError.invalidParams(field: field, "is required") }
        return value
    }

    public func optionalString(_ field: String) throws -> String? {
        guard let value = self[field] else { return nil }
        guard case .string(let text) = value else { throw RPCError.invalidParams(field: field, "must be a string") }
        return text
    }

    public func optionalInteger(_ field: String, in range: ClosedRange<Int64> = 0...Int64.max) throws -> Int64? {
        guard let value = self[field] else { return nil }
        guard case .integer(let number) = value else { throw RPCError.invalidParams(field: field, "must be an integer") }
        guard range.contains(number) else {
            throw RPCError.invalidParams(field: field, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    public func optionalBool(_ field: String) throws -> Bool? {
        guard let value = self[field] else { return nil }
        guard case .bool(let flag) = value else { throw RPCError.invalidParams(field: field, "must be a boolean") }
        return flag
    }

    public func optionalObject(_ field: String) throws -> [String: JSONValue]? {
        guard let value = self[field] else { return nil }
        guard case .object(let object) = value else { throw RPCError.invalidParams(field: field, "must be an object") }
        return object
    }

    /// An array of strings, or nil when absent.
    public func optionalStrings(_ field: String) throws -> [String]? {
        guard let value = self[field] else { return nil }
        guard case .array(let items) = value else { throw RPCError.invalidParams(field: field, "must be an array of strings") }
        return try items.map { item in
            guard case .string(let text) = item else { throw RPCError.invalidParams(field: field, "must be an array of strings") }
            return text
        }
    }

    public func object(_ field: String) throws -> [String: JSONValue] {
        guard let value = try optionalObject(field) else { throw RPCError.invalidParams(field: field, "is required") }
        return value
    }

    /// A member whose value must be one of `allowed` (strings).
    public func optionalChoice<T: RawRepresentable>(_ field: String, as type: T.Type) throws -> T? where T.RawValue == String, T: CaseIterable {
        guard let text = try optionalString(field) else { return nil }
        guard let choice = T(rawValue: text) else {
            throw RPCError.invalidParams(field: field, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    /// Fails when the params hold a member not in `known`.
    public func rejectUnknown(_ known: Set<String>) throws {
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw RPCError.invalidParams(field: unknown, "is not a parameter of this method")
        }
    }
}
