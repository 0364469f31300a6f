import Foundation
import JSON
import JSONRPC

/// A client of `convlogd` over its Unix socket: one connection, one request at a time.
///
/// Notifications the daemon sends on the connection (the events of a `subscribe`) are kept in
/// arrival order, also while a call waits for its answer, and read with ``nextNotification()``.
///
/// Calls are answered in order on the connection, so a client is not meant to be shared by many
/// concurrent callers (use one client per task or thread; they are cheap). The async methods do
/// their blocking I/O on a private queue, never on Swift's cooperative pool.
///
/// ```swift
/// let client = try ConvLogClient(socketPath: path)
/// let session = try await client.call("create", ["userId": "u1"])
/// let context = try await client.call("getContext", ["sessionId": session.objectValue!["sessionId"]!])
/// ```
public final class ConvLogClient: @unchecked Sendable {
    // All mutable state is touched only on `queue`.
    private let queue = DispatchQueue(label: "convlog.client")
    private let socketPath: String
    private let timeout: Duration
    private var descriptor: Int32 = -1
    private var received: [UInt8] = []
    /// The bytes of `received` already returned as lines.
    private var consumed = 0
    private var receiveBuffer = [UInt8](repeating: 0, count: 64 << 10)
    private var nextID: Int64 = 1
    private var notifications: [RPCNotification] = []

    /// Why a call failed on the client side.
    public struct TransportError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// Connects to the daemon at `socketPath`.
    /// - Parameter timeout: how long one call may wait for its answer.
    public init(socketPath: String, timeout: Duration = .seconds(30)) throws {
        self.socketPath = socketPath
        self.timeout = timeout
        try queue.sync { try connect() }
    }

    deinit {
        if descriptor >= 0 { Foundation.close(descriptor) }
    }

    /// A notification from the daemon: a method and its params, no id.
    public struct RPCNotification: Sendable, Hashable {
        public var method: String
        public var params: JSONValue?
    }

    /// The next notification the daemon sent on this connection, waiting for one up to the
    /// client's timeout; nil when none came in that time.
    /// - Throws: ``TransportError`` when the connection fails or an answer comes unasked.
    public func nextNotification() async throws -> RPCNotification? {
        try await onQueue {
            if !self.notifications.isEmpty { return self.notifications.removeFirst() }
            guard self.descriptor >= 0 else { throw TransportError(description: "not connected: subscribe first") }
            do {
                while true {
                    guard let line = try self.receiveLine(timeoutIsNil: true) else { return nil }
                    let message: JSONValue
                    do {
                        message = try JSONValue(parsing: line)
                    } catch {
                        throw TransportError(description: "unreadable message: \(error)")
                    }
                    if let notification = Self.notification(message) { return notification }
                    throw TransportError(description: "an answer came while no call waited")
                }
            } catch let error as TransportError {
                self.reset()
                throw error
            }
        }
    }

    /// Calls `method` with named `params` and returns its result.
    /// - Throws: ``RPCError`` for an error answer, ``TransportError`` when the connection fails.
    public func call(_ method: String, _ params: JSONValue = .object([:])) async throws -> JSONValue {
        try await onQueue { try self.roundTrip(method, params) }
    }

    /// The blocking form of ``call(_:_:)``, for threads that may block.
    @available(*, noasync, message: "use call(_:_:) from async code")
    public func callBlocking(_ method: String, _ params: JSONValue = .object([:])) throws -> JSONValue {
        try queue.sync { try roundTrip(method, params) }
    }

    /// Sends raw bytes (a newline is not added) and, when `expectAnswer`, returns the next answer
    /// line: for tests of the wire format and for tools that speak JSON-RPC themselves.
    public func exchangeRaw(_ bytes: [UInt8], expectAnswer: Bool = true) async throws -> [UInt8]? {
        try await onQueue {
            if self.descriptor < 0 { try self.connect() }
            try self.send(bytes)
            return expectAnswer ? try self.receiveLine() : nil
        }
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Closes the connection.
    public func close() {
        queue.sync {
            if descriptor >= 0 { Foundation.close(descriptor) }
            descriptor = -1
        }
    }

    // MARK: On the queue

    private func roundTrip(_ method: String, _ params: JSONValue) throws -> JSONValue {
        if descriptor < 0 { try connect() }
        let id = nextID
        nextID += 1
        var request: [UInt8] = []
        JSONValue.object(["jsonrpc": "2.0", "id": .integer(id), "method": .string(method), "params": params]).appendCanonical(to: &request)
        request.append(UInt8(ascii: "\n"))
        do {
            try send(request)
            var response = try JSONValue(parsing: try receiveLine())
            while let notification = Self.notification(response) {
                notifications.append(notification)
                response = try JSONValue(parsing: try receiveLine())
            }
            guard let members = response.objectValue, members["id"] == .integer(id) else {
                throw TransportError(description: "answer does not match request \(id)")
            }
            if let error = members["error"]?.objectValue {
                guard case .integer(let code)? = error["code"], case .string(let message)? = error["message"] else {
                    throw TransportError(description: "malformed error object")
                }
                throw RPCError(code: Int(code), message: message, data: error["data"])
            }
            return members["result"] ?? .null
        } catch let error as TransportError {
            reset()
            throw error
        } catch let error as JSONParseError {
            reset()
            throw TransportError(description: "unreadable answer: \(error)")
        }
    }

    private func reset() {
        if descriptor >= 0 { Foundation.close(descriptor) }
        descriptor = -1
        received.removeAll()
        consumed = 0
    }

    /// `message` as a notification: an object with a method and no id.
    private static func notification(_ message: JSONValue) -> RPCNotification? {
        guard let members = message.objectValue, members["id"] == nil, case .string(let method)? = members["method"] else { return nil }
        return RPCNotification(method: method, params: members["params"])
    }

    private func connect() throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TransportError(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard socketPath.utf8.count < capacity else {
            Foundation.close(fd)
            throw TransportError(description: "socket path longer than \(capacity - 1) bytes: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: socketPath.utf8)
            buffer[socketPath.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            Foundation.close(fd)
            throw TransportError(description: "cannot connect to convlogd at \(socketPath): \(reason)")
        }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        descriptor = fd
        received.removeAll()
        consumed = 0
    }

    private func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw TransportError(description: "send: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    private func receiveLine() throws -> [UInt8] {
        guard let line = try receiveLine(timeoutIsNil: false) else { throw TransportError(description: "receive: timed out after \(timeout)") }
        return line
    }

    /// The next line; nil when the timeout passes first and `timeoutIsNil`.
    private func receiveLine(timeoutIsNil: Bool) throws -> [UInt8]? {
        var searched = consumed
        while true {
            if let newline = received[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(received[consumed..<newline])
                consumed = newline + 1
                // Lines are taken from the front without moving the rest, until half the buffer is spent.
                if consumed == received.count {
                    received.removeAll(keepingCapacity: true)
                    consumed = 0
                } else if consumed > received.count / 2 {
                    received.removeSubrange(..<consumed)
                    consumed = 0
                }
                return line
            }
            searched = received.count
            let count = receiveBuffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                if timeoutIsNil, errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out after \(timeout)" : String(cString: strerror(errno))
                throw TransportError(description: "receive: \(reason)")
            }
            if count == 0 { throw TransportError(description: "convlogd closed the connection") }
            received += receiveBuffer[..<count]
        }
    }
}
