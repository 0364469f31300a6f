import ConvLogClient
import EventLog
import Foundation
import Projections
import Synchronization
import Testing
import JSON

/// The `convlogd` binary run as a child process.
final class DaemonProcess {
    let process = Process()
    let socketPath: String
    private let errors = Pipe()

    init(dataDirectory: URL, socketPath: String) throws {
        self.socketPath = socketPath
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("convlogd")
        process.arguments = ["--data-dir", dataDirectory.path, "--socket", socketPath, "--log-level", "warning"]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        process.standardError = errors
        try process.run()
    }

    /// Waits (up to 20 s) until the daemon answers on its socket.
    func waitUntilReady() async throws -> ConvLogClient {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if process.isRunning, let client = try? ConvLogClient(socketPath: socketPath), (try? await client.call("health")) != nil {
                return client
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ConvLogClient.TransportError(description: "convlogd did not start: \(String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self))")
    }

    /// Sends SIGTERM and waits (up to 20 s) for the exit status.
    func terminate() async throws -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw ConvLogClient.TransportError(description: "convlogd did not stop on SIGTERM")
        }
        return process.terminationStatus
    }
}

@Suite("Daemon lifecycle")
struct LifecycleTests {
    @Test("SIGTERM under load exits 0; after a restart every acknowledged add is there, none half-written")
    func gracefulShutdownUnderLoad() async throws {
        let directory = URL(fileURLWithPath: "/tmp/convlog-life-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataDirectory = directory.appendingPathComponent("data")
        let socketPath = directory.appendingPathComponent("d.sock").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let daemon = try DaemonProcess(dataDirectory: dataDirectory, socketPath: socketPath)
        let setup = try await daemon.waitUntilReady()
        for index in 0..<4 { _ = try await setup.call("create", ["sessionId": .string("load-\(index)")]) }

        let acknowledgedSoFar = SharedCount()
        let load = Task {
            try await withThrowingTaskGroup(of: [String].self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        let client = try ConvLogClient(socketPath: socketPath)
                        var acknowledged: [String] = []
                        for index in 0..<100_000 {
                            let id = "w\(writer)-\(index)"
                            do {
                                _ = try await client.call("add", ["sessionId": .string("load-\(writer)"), "role": "user", "content": "x", "messageId": .string(id)])
                                acknowledged.append(id)
                                acknowledgedSoFar.increment()
                            } catch {
                                break  // the daemon is going away
                            }
                        }
                        return acknowledged
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        // Stop once the load is under way (not after a fixed time, which a loaded machine may not reach).
        let deadline = ContinuousClock.now + .seconds(60)
        while acknowledgedSoFar.value < 200, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await daemon.terminate() == 0)
        let acknowledged = try await load.value
        #expect(acknowledged.count > 10, "the load ran")
        #expect(!FileManager.default.fileExists(atPath: socketPath), "the socket is removed")

        // Restart: everything acknowledged is there, the chain and the projections hold.
        let restarted = try DaemonProcess(dataDirectory: dataDirectory, socketPath: socketPath)
        let client = try await restarted.waitUntilReady()
        var stored = Set<String>()
        var next: JSONValue = 1
        while case .integer(let from) = next {
            let page = try await client.call("readEvents", ["from": .integer(from), "limit": 1000])
            for event in try #require(page["events"]?.arrayValue) { if let id = event["data"]?["messageId"]?.stringValue { stored.insert(id) } }
            next = page["next"] ?? .null
        }
        #expect(Set(acknowledged).isSubset(of: stored))
        let storedCount = stored.count
        #expect(try await restarted.terminate() == 0)

        var readOnly = EventStore.Configuration()
        readOnly.readOnly = true
        let views = try ConversationViews.open(directory: dataDirectory, configuration: readOnly)
        defer { views.store.close() }
        #expect(try views.store.verify().isIntact)
        #expect(try views.store.verifyProjections().allSatisfy { $0.holds })
        #expect(try views.store.counts().events == 4 + storedCount)
    }

    @Test("a second daemon on the same data directory refuses to start, naming the first")
    func secondDaemonRefused() async throws {
        let directory = URL(fileURLWithPath: "/tmp/convlog-two-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try DaemonProcess(dataDirectory: directory, socketPath: directory.path + "/a.sock")
        _ = try await first.waitUntilReady()
        let second = Process()
        second.executableURL = first.process.executableURL
        second.arguments = ["--data-dir", directory.path, "--socket", directory.path + "/b.sock"]
        let errors = Pipe()
        second.standardError = errors
        try second.run()
        second.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(second.terminationStatus != 0)
        #expect(message.contains("another convlogd (pid \(first.process.processIdentifier))"), "\(message)")
        #expect(try await first.terminate() == 0)
    }
}

/// A count several tasks add to.
final class SharedCount: Sendable {
    private let count = Mutex(0)

    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
