import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import JSONRPC

/// The JSON-RPC server on a Unix domain socket: one JSON text per line, each connection checked
/// against a ``PeerPolicy``, bounded in connections, frame size and requests in flight.
///
/// ```swift
/// let server = RPCServer(dispatcher: dispatcher, configuration: .init(socketPath: path), logger: logger)
/// try await server.start()
/// ...
/// await server.stop(gracePeriod: .seconds(10))
/// ```
public final class RPCServer: Sendable {
    /// How the server listens and what it bounds.
    public struct Configuration: Sendable {
        public var socketPath: String
        /// The longest request line, in bytes.
        public var maximumFrameBytes = 1 << 20
        /// Connections served at once; more are closed at once (and logged).
        public var maximumConnections = 1_024
        /// Deferred requests (appends, analyses) running at once per connection.
        public var maximumInFlightPerConnection = 64
        /// Notification streams (subscriptions) open at once per connection.
        public var maximumStreamsPerConnection = 16
        /// Who may connect.
        public var peerPolicy: PeerPolicy = .ownerOnly

        public init(socketPath: String) { self.socketPath = socketPath }
    }

    /// Why the server did not start.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    private let dispatcher: RPCDispatcher
    private let configuration: Configuration
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let tracker = InFlightTracker()
    private let draining = NIOLockedValueBox(false)
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    private let serverChannel = NIOLockedValueBox<(any Channel)?>(nil)
    /// One per event loop of the group, by the loop's identity.
    private let mailboxes: [ObjectIdentifier: LoopMailbox]

    public init(dispatcher: RPCDispatcher, configuration: Configuration, logger: Logger) {
        self.dispatcher = dispatcher
        self.configuration = configuration
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        self.group = group
        self.mailboxes = Dictionary(uniqueKeysWithValues: group.makeIterator().map { (ObjectIdentifier($0), LoopMailbox(loop: $0)) })
        self.logger = logger
    }

    /// Binds the socket (mode 0600) and starts accepting.
    /// - Throws: ``StartError`` when a live server already listens on the path, or binding fails.
    public func start() async throws {
        let path = configuration.socketPath
        try Self.removeStaleSocket(at: path)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 << 10, high: 1 << 20))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in accept(channel) }
        // The socket is created by bind(): keep every permission bit but the owner's off meanwhile.
        let previousMask = umask(0o177)
        defer { umask(previousMask) }
        let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
        guard chmod(path, 0o600) == 0 else {
            try? await channel.close()
            throw StartError(description: "cannot set mode 0600 on \(path): \(String(cString: strerror(errno)))")
        }
        serverChannel.withLockedValue { $0 = channel }
        logger.info("listening", metadata: ["socket": "\(path)"])
    }

    /// The connections open now.
    public var connectionCount: Int { connections.withLockedValue { $0.count } }

    /// Stops accepting, answers new requests on open connections with a shutting-down error, lets
    /// requests in flight finish (up to `gracePeriod`), closes every connection and removes the
    /// socket file.
    public func stop(gracePeriod: Duration = .seconds(10)) async {
        if let channel = serverChannel.withLockedValue({ $0 }) { try? await channel.close() }
        draining.withLockedValue { $0 = true }
        let deadline = ContinuousClock.now + gracePeriod
        while tracker.current > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        if tracker.current > 0 { logger.warning("requests still running at shutdown", metadata: ["count": "\(tracker.current)"]) }
        let open = connections.withLockedValue { Array($0.values) }
        for connection in open { try? await connection.close() }
        unlink(configuration.socketPath)
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    // MARK: Connections

    private func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        let key = ObjectIdentifier(channel)
        let admitted = connections.withLockedValue { open -> Bool in
            guard open.count < configuration.maximumConnections else { return false }
            open[key] = channel
            return true
        }
        guard admitted else {
            logger.warning("connection refused: too many connections", metadata: ["limit": "\(configuration.maximumConnections)"])
            return channel.close()
        }
        channel.closeFuture.whenComplete { [connections] _ in _ = connections.withLockedValue { $0.removeValue(forKey: key) } }
        return PeerIdentity.of(channel).flatMap { [self] peer in
            guard configuration.peerPolicy.allows(uid: peer.uid) else {
                logger.warning("connection refused: peer not allowed", metadata: ["peer": "\(peer)"])
                return channel.close()
            }
            logger.debug("connection accepted", metadata: ["peer": "\(peer)"])
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(LineFrameDecoder(maximumFrameBytes: configuration.maximumFrameBytes))
                )
                try channel.pipeline.syncOperations.addHandler(
                    RPCConnectionHandler(
                        dispatcher: dispatcher,
                        maximumFrameBytes: configuration.maximumFrameBytes,
                        maximumInFlight: configuration.maximumInFlightPerConnection,
                        maximumStreams: configuration.maximumStreamsPerConnection,
                        tracker: tracker,
                        draining: draining,
                        mailbox: mailboxes[ObjectIdentifier(channel.eventLoop)]!,
                        logger: logger
                    )
                )
            }
        }
    }

    /// Removes a socket file nobody listens on; refuses when a server answers on it.
    private static func removeStaleSocket(at path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw StartError(description: "\(path) exists and is not a socket; remove it or choose another --socket")
        }
        if UnixSocket.canConnect(to: path) {
            throw StartError(description: "another convlogd is already listening on \(path)")
        }
        unlink(path)
    }
}

/// Plain POSIX Unix-socket helpers.
enum UnixSocket {
    /// Whether something accepts connections at `path`.
    static func canConnect(to path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}
