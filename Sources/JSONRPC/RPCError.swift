import JSON

/// A JSON-RPC 2.0 error object: a code, a message, and optional data.
///
/// Standard codes are -32700…-32600; convlog's own are -32001…-32099 (see `schema/openrpc.json`).
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "JSON-RPC error \(code): \(message)" }

    // Standard codes.
    public static let parseErrorCode = -32700
    public static let invalidRequestCode = -32600
    public static let methodNotFoundCode = -32601
    public static let invalidParamsCode = -32602
    public static let internalErrorCode = -32603

    // convlog's codes.
    public static let sessionNotFoundCode = -32001
    public static let sessionExistsCode = -32002
    public static let versionConflictCode = -32003
    public static let payloadTooLargeCode = -32004
    public static let shuttingDownCode = -32005
    public static let storageFullCode = -32006
    public static let threadDeletedCode = -32007
    public static let messageConflictCode = -32008
    public static let subscriberTooSlowCode = -32009
    public static let storeUnavailableCode = -32010

    public static func parseError(_ reason: String) -> RPCError {
        RPCError(code: parseErrorCode, message: "Parse error: \(reason)")
    }

    public static func invalidRequest(_ reason: String) -> RPCError {
        RPCError(code: invalidRequestCode, message: "Invalid request: \(reason)")
    }

    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: methodNotFoundCode, message: "Method not found: \(method)", data: ["method": .string(method)])
    }

    /// Invalid params, naming the field in `data.field`.
    public static func invalidParams(field: String, _ reason: String) -> RPCError {
        RPCError(code: invalidParamsCode, message: "Invalid params: \(field) \(reason)", data: ["field": .string(field)])
    }

    public static func payloadTooLarge(_ reason: String) -> RPCError {
        RPCError(code: payloadTooLargeCode, message: "Payload too large: \(reason)")
    }

    public static let internalError = RPCError(code: internalErrorCode, message: "Internal error")

    /// The error object as JSON.
    public var jsonValue: JSONValue {
        var object: [String: JSONValue] = ["code": .integer(Int64(code)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }
}
