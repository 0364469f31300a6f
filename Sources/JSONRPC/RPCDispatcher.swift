import JSON

/// One method of the table: answered at once on the caller's thread (fast reads), later in a
/// task (anything that waits, such as an analysis with a model), or by a completion another
/// thread calls (an append answered straight from the writer, with no task in between).
public struct RPCMethod: Sendable {
    /// Called once, from any thread, with a function that makes the method's outcome. The server
    /// calls that function on the connection's own thread, so building and encoding the answer
    /// does not load the thread that completed the work (the log's writer, for an append).
    public typealias Completion = @Sendable (@escaping @Sendable () -> Result<JSONValue, any Error>) -> Void

    public enum Handler: Sendable {
        case immediate(@Sendable (JSONValue?) throws -> JSONValue)
        case deferred(@Sendable (JSONValue?) async throws -> JSONValue)
        case completing(@Sendable (JSONValue?, @escaping Completion) -> Void)
        case connected(@Sendable (JSONValue?, any RPCConnectionContext) throws -> JSONValue)
        case immediateEncoded(@Sendable (JSONValue?) throws -> [UInt8])
        case deferredEncoded(@Sendable (JSONValue?) async throws -> [UInt8])
    }

    public let handler: Handler

    /// A method answered synchronously; it must not block.
    public static func immediate(_ body: @escaping @Sendable (JSONValue?) throws -> JSONValue) -> RPCMethod {
        RPCMethod(handler: .immediate(body))
    }

    /// A method answered asynchronously.
    public static func deferred(_ body: @escaping @Sendable (JSONValue?) async throws -> JSONValue) -> RPCMethod {
        RPCMethod(handler: .deferred(body))
    }

    /// A method that starts its work on the caller's thread (it must not block) and calls the
    /// completion exactly once, from any thread.
    public static func completing(_ body: @escaping @Sendable (JSONValue?, @escaping Completion) -> Void) -> RPCMethod {
        RPCMethod(handler: .completing(body))
    }

    /// A method answered synchronously with its result already in canonical JSON bytes (a hot
    /// read that writes its answer directly instead of building a ``JSONValue`` tree); it must
    /// not block.
    public static func immediateEncoded(_ body: @escaping @Sendable (JSONValue?) throws -> [UInt8]) -> RPCMethod {
        RPCMethod(handler: .immediateEncoded(body))
    }

    /// A method answered asynchronously with its result already in canonical JSON bytes.
    public static func deferredEncoded(_ body: @escaping @Sendable (JSONValue?) async throws -> [UInt8]) -> RPCMethod {
        RPCMethod(handler: .deferredEncoded(body))
    }

    /// The same method, answered only once `barrier` has returned (a failure of the barrier is the
    /// call's answer): for a store whose reads must first catch up with a shared log. Methods on
    /// the connection (``connected(_:)``) are returned unchanged.
    public func preceded(by barrier: @escaping @Sendable () async throws -> Void) -> RPCMethod {
        switch handler {
        case .immediate(let body):
            .deferred { params in
                try await barrier()
                return try body(params)
            }
        case .deferred(let body):
            .deferred { params in
                try await barrier()
                return try await body(params)
            }
        case .completing(let body):
            .deferred { params in
                try await barrier()
                return try await withCheckedThrowingContinuation { continuation in body(params) { continuation.resume(with: $0()) } }
            }
        case .immediateEncoded(let body):
            .deferredEncoded { params in
                try await barrier()
                return try body(params)
            }
        case .deferredEncoded(let body):
            .deferredEncoded { params in
                try await barrier()
                return try await body(params)
            }
        case .connected:
            self
        }
    }

    /// A method answered synchronously that also works on its caller's connection: it opens or
    /// closes the connection's notification streams. It must not block. Over a transport without
    /// connections it answers an invalid-request error.
    public static func connected(_ body: @escaping @Sendable (JSONValue?, any RPCConnectionContext) throws -> JSONValue) -> RPCMethod {
        RPCMethod(handler: .connected(body))
    }
}

/// What to send back for one frame.
public enum RPCOutcome: Sendable {
    /// The response bytes (without the final newline), or nil when there is nothing to send
    /// (notifications only).
    case ready([UInt8]?)
    /// The response needs waiting: run the closure, then send what it returns.
    case pending(@Sendable () async -> [UInt8]?)
    /// The response needs waiting: call the closure with a completion; it is called once, from any
    /// thread, with a function that returns what to send (call it on the connection's thread).
    case started(@Sendable (@escaping @Sendable (@escaping @Sendable () -> [UInt8]?) -> Void) -> Void)
}

/// JSON-RPC 2.0 over single frames: parses a frame (one request or a batch), calls the methods,
/// and encodes the responses. No transport: the server hands it frames, the fuzzer too.
public final class RPCDispatcher: Sendable {
    private let methods: [String: RPCMethod]
    private let mapError: @Sendable (any Error) -> RPCError

    /// - Parameter mapError: turns errors thrown by methods into JSON-RPC errors; ``RPCError``s
    ///   pass through untouched before it is called.
    public init(methods: [String: RPCMethod], mapError: @escaping @Sendable (any Error) -> RPCError) {
        self.methods = methods
        self.mapError = mapError
    }

    /// Handles one frame that came on `connection` (nil: a transport without connections, such
    /// as the fuzzer's).
    public func handle(frame: UnsafeRawBufferPointer, connection: (any RPCConnectionContext)? = nil) -> RPCOutcome {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: frame)
        } catch {
            return .ready(Self.encode(id: .null, .failure(.parseError(error.description))))
        }
        switch document {
        case .array(let elements):
            guard !elements.isEmpty else { return .ready(Self.encode(id: .null, .failure(.invalidRequest("empty batch")))) }
            return handleBatch(elements.map(Call.init), connection: connection)
        default:
            let call = Call(document)
            if let response = answerNow(call, connection: connection) { return .ready(response) }
            if case .completing(let body)? = methods[call.method]?.handler {
                return .started { [self] send in
                    body(call.params) { outcome in send { self.respond(to: call, with: outcome().mapError(self.toRPCError)) } }
                }
            }
            return .pending { [self] in await answerLater(call) }
        }
    }

    /// The response to a frame longer than the limit (no id can be known).
    public static func oversizedFrameResponse(limit: Int) -> [UInt8] {
        encode(id: .null, .failure(.payloadTooLarge("the request line exceeds \(limit) bytes")))
    }

    /// The answer to any request that arrives while the server shuts down.
    public static let shuttingDownResponse = encode(
        id: .null,
        .failure(RPCError(code: RPCError.shuttingDownCode, message: "Shutting down: the daemon is stopping"))
    )

    // MARK: Calls

    /// A parsed request, or why it is not one.
    private struct Call: Sendable {
        var id: JSONValue
        var isNotification: Bool
        var method: String
        var params: JSONValue?
        var invalid: RPCError?

        init(_ value: JSONValue) {
            id = .null
            isNotification = false
            method = ""
            guard case .object(let members) = value else {
                invalid = .invalidRequest("a request must be an object")
                return
            }
            if let requestID = members["id"] {
                switch requestID {
                case .string, .integer, .double, .null: id = requestID
                default:
                    invalid = .invalidRequest("id must be a string, a number or null")
                    return
                }
            } else {
                isNotification = true
            }
            guard members["jsonrpc"] == .string("2.0") else {
                invalid = .invalidRequest("jsonrpc must be \"2.0\"")
                return
            }
            guard case .string(let name)? = members["method"] else {
                invalid = .invalidRequest("method must be a string")
                return
            }
            method = name
            params = members["params"]
        }
    }

    /// The response bytes of one call (nil inside: a notification), or nil when the call must wait.
    private func answerNow(_ call: Call, connection: (any RPCConnectionContext)?) -> [UInt8]?? {
        if let invalid = call.invalid { return .some(Self.encode(id: call.id, .failure(invalid))) }
        guard let method = methods[call.method] else {
            return .some(call.isNotification ? nil : Self.encode(id: call.id, .failure(.methodNotFound(call.method))))
        }
        switch method.handler {
        case .immediate(let body):
            return .some(respond(to: call, with: Result { try body(call.params) }.mapError(toRPCError)))
        case .immediateEncoded(let body):
            guard !call.isNotification else { return .some(nil) }
            return .some(Self.encode(id: call.id, encoded: Result { try body(call.params) }.mapError(toRPCError)))
        case .connected(let body):
            guard let connection else {
                return .some(respond(to: call, with: .failure(.invalidRequest("\(call.method) needs a connection to send notifications on"))))
            }
            return .some(respond(to: call, with: Result { try body(call.params, connection) }.mapError(toRPCError)))
        case .deferred, .completing, .deferredEncoded:
            return .none
        }
    }

    private func answerLater(_ call: Call) async -> [UInt8]? {
        let result: Result<JSONValue, any Error>
        switch methods[call.method]?.handler {
        case .deferredEncoded(let body)?:
            guard !call.isNotification else { return nil }
            do {
                return Self.encode(id: call.id, encoded: .success(try await body(call.params)))
            } catch {
                return Self.encode(id: call.id, encoded: .failure(toRPCError(error)))
            }
        case .deferred(let body)?:
            do {
                result = .success(try await body(call.params))
            } catch {
                result = .failure(error)
            }
        case .completing(let body)?:
            result = await withCheckedContinuation { continuation in body(call.params) { continuation.resume(returning: $0()) } }
        case .immediate?, .immediateEncoded?, .connected?, nil:
            return answerNow(call, connection: nil) ?? nil
        }
        return respond(to: call, with: result.mapError(toRPCError))
    }

    /// The response bytes for `call`'s outcome, or nil for a notification.
    private func respond(to call: Call, with result: Result<JSONValue, RPCError>) -> [UInt8]? {
        call.isNotification ? nil : Self.encode(id: call.id, result)
    }

    private func handleBatch(_ calls: [Call], connection: (any RPCConnectionContext)?) -> RPCOutcome {
        var responses: [[UInt8]?] = []
        var waiting: [(index: Int, call: Call)] = []
        for (index, call) in calls.enumerated() {
            if let response = answerNow(call, connection: connection) {
                responses.append(response)
            } else {
                responses.append(nil)
                waiting.append((index, call))
            }
        }
        guard !waiting.isEmpty else { return .ready(Self.joinBatch(responses)) }
        let ready = responses
        let pending = waiting
        return .pending { [self] in
            var all = ready
            // Deferred calls of a batch run concurrently, so their appends share group commits.
            await withTaskGroup(of: (Int, [UInt8]?).self) { group in
                for (index, call) in pending { group.addTask { (index, await self.answerLater(call)) } }
                for await (index, response) in group { all[index] = response }
            }
            return Self.joinBatch(all)
        }
    }

    private func toRPCError(_ error: any Error) -> RPCError {
        (error as? RPCError) ?? mapError(error)
    }

    // MARK: Encoding

    private static let prefix = Array(#"{"jsonrpc":"2.0","id":"#.utf8)

    static func encode(id: JSONValue, _ result: Result<JSONValue, RPCError>) -> [UInt8] {
        encode(id: id, result.isSuccess, { bytes in
            switch result {
            case .success(let value): value.appendCanonical(to: &bytes)
            case .failure(let error): error.jsonValue.appendCanonical(to: &bytes)
            }
        })
    }

    /// The response to a call whose result came encoded.
    static func encode(id: JSONValue, encoded result: Result<[UInt8], RPCError>) -> [UInt8] {
        encode(id: id, result.isSuccess, { bytes in
            switch result {
            case .success(let encoded): bytes += encoded
            case .failure(let error): error.jsonValue.appendCanonical(to: &bytes)
            }
        })
    }

    private static func encode(id: JSONValue, _ succeeded: Bool, _ appendOutcome: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = prefix
        bytes.reserveCapacity(512)
        id.appendCanonical(to: &bytes)
        bytes.append(contentsOf: (succeeded ? #","result":"# : #","error":"#).utf8)
        appendOutcome(&bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private static func joinBatch(_ responses: [[UInt8]?]) -> [UInt8]? {
        let present = responses.compactMap { $0 }
        guard !present.isEmpty else { return nil }
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for (index, response) in present.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += response
        }
        bytes.append(UInt8(ascii: "]"))
        return bytes
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { true } else { false }
    }
}
