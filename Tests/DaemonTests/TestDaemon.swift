import ConvLog
import ConvLogClient
import EventLog
import Foundation
import Logging
import Projections
import RPCServer
import ConvLogRPC
import JSON
import JSONRPC

/// A daemon served in-process on a socket in a fresh temporary directory.
final class TestDaemon: Sendable {
    let directory: URL
    let socketPath: String
    let views: ConversationViews
    let server: RPCServer

    init(limits: ServiceLimits = ServiceLimits(), configure: (inout RPCServer.Configuration) -> Void = { _ in }) async throws {
        directory = URL(fileURLWithPath: "/tmp/convlog-daemon-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        socketPath = directory.appendingPathComponent("convlogd.sock").path
        views = try ConversationViews.open(directory: directory.appendingPathComponent("data"))
        let service = ConversationService(views: views, limits: limits)
        let dispatcher = RPCDispatcher(methods: ConvLogMethods.table(service: service) { 1 }, mapError: ConvLogMethods.mapError)
        var configuration = RPCServer.Configuration(socketPath: socketPath)
        configure(&configuration)
        var logger = Logger(label: "test-daemon")
        logger.logLevel = .critical
        server = RPCServer(dispatcher: dispatcher, configuration: configuration, logger: logger)
        try await server.start()
    }

    func client() throws -> ConvLogClient { try ConvLogClient(socketPath: socketPath, timeout: .seconds(20)) }

    func stop() async {
        await server.stop(gracePeriod: .seconds(5))
        views.store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` against a fresh in-process daemon, stopped afterwards.
func withDaemon<T>(
    limits: ServiceLimits = ServiceLimits(),
    configure: (inout RPCServer.Configuration) -> Void = { _ in },
    _ body: (TestDaemon) async throws -> T
) async throws -> T {
    let daemon = try await TestDaemon(limits: limits, configure: configure)
    do {
        let result = try await body(daemon)
        await daemon.stop()
        return result
    } catch {
        await daemon.stop()
        throw error
    }
}

extension JSONValue {
    /// A member of an object (nil for anything else).
    subscript(_ key: String) -> JSONValue? { objectValue?[key] }
}

/// Parses an answer line.
func parse(_ line: [UInt8]?) throws -> JSONValue {
    guard let line else { throw ConvLogClient.TransportError(description: "no answer") }
    return try JSONValue(parsing: line)
}

/// A test's own failure, thrown where a value has an unexpected shape.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
