/// A failed service call, with a code the RPC front maps to a JSON-RPC error.
public struct ConvLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A parameter is missing, of the wrong type or out of range: ``ConvLogError/field`` names it.
        public static let invalidParams = Code("invalidParams")
        public static let sessionNotFound = Code("sessionNotFound")
        public static let sessionExists = Code("sessionExists")
        /// ``ConvLogError/expectedVersion`` and ``ConvLogError/actualVersion`` say more.
        public static let versionConflict = Code("versionConflict")
        /// A parameter is larger than the daemon accepts: ``ConvLogError/field`` names it.
        public static let payloadTooLarge = Code("payloadTooLarge")
        public static let shuttingDown = Code("shuttingDown")
        public static let storageFull = Code("storageFull")
        /// The shared log (PostgreSQL) cannot be reached: nothing was written, unless the message
        /// says the outcome of the commit is unknown.
        public static let storeUnavailable = Code("storeUnavailable")
        /// A checkpoint write for a thread deleted at or after that checkpoint (a late write).
        public static let threadDeleted = Code("threadDeleted")
        /// A message of a `messages` channel has the id of a stored message of the thread but
        /// other content, or a reference names no stored message: ``ConvLogError/field`` says which.
        public static let messageConflict = Code("messageConflict")
    }

    public var code: Code
    public var message: String
    /// The parameter at fault, when one is.
    public var field: String?
    public var expectedVersion: UInt64?
    public var actualVersion: UInt64?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code): \(message)" }

    static func invalid(_ field: String, _ reason: String) -> ConvLogError {
        ConvLogError(.invalidParams, "\(field) \(reason)", field: field)
    }

    static func tooLarge(_ field: String, limit: Int) -> ConvLogError {
        ConvLogError(.payloadTooLarge, "\(field) exceeds \(limit) bytes", field: field)
    }

    static func notFound(_ sessionID: String) -> ConvLogError {
        ConvLogError(.sessionNotFound, "no session \(sessionID)", field: "sessionId")
    }
}
