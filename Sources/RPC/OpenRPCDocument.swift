import EventLog

/// The OpenRPC description of the methods, served by `rpc.discover` and kept in `schema/openrpc.json`.
public enum OpenRPCDocument {
    /// The document.
    public static let value: JSONValue = {
        guard let value = try? JSONValue(parsing: Array(text.utf8)) else { preconditionFailure("OpenRPC document is not valid JSON") }
        return value
    }()

    static let text = #"{}"#
}
