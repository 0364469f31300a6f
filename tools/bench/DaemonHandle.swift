import ConvLogClient
import EventLog
import Foundation

/// A `convlogd` started by the bench on a directory of its own.
final class DaemonHandle {
    let process = Process()
    let dataDirectory: URL
    let socketPath: String
    var pid: Int32 { process.processIdentifier }

    /// Starts the daemon beside this executable and waits (up to 60 s) until it answers.
    /// - Returns: the daemon and the seconds it took to answer its first `health`.
    static func start(dataDirectory: URL, durability: String = "fsync") throws -> (DaemonHandle, Double) {
        let daemon = try DaemonHandle(dataDirectory: dataDirectory, durability: durability)
        let started = ContinuousClock.now
        while true {
            if let client = try? ConvLogClient(socketPath: daemon.socketPath, timeout: .seconds(5)), (try? client.callBlocking("health")) != nil {
                return (daemon, seconds(since: started))
            }
            guard daemon.process.isRunning, ContinuousClock.now - started < .seconds(60) else {
                daemon.stop()
                throw ValidationErrorText("convlogd did not start on \(dataDirectory.path)")
            }
            usleep(1_000)
        }
    }

    private init(dataDirectory: URL, durability: String) throws {
        self.dataDirectory = dataDirectory
        socketPath = dataDirectory.appendingPathComponent("convlogd.sock").path
        process.executableURL = siblingExecutable("convlogd")
        process.arguments = ["--data-dir", dataDirectory.path, "--durability", durability, "--log-level", "error"]
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Anonymous resident memory (RssAnon): the heap, not LMDB's mapped file.
    var anonymousResidentBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }

    /// The size of the log's data file.
    var dataFileBytes: Int {
        (try? FileManager.default.attributesOfItem(atPath: dataDirectory.appendingPathComponent("data.mdb").path)[.size] as? Int) ?? 0
    }

    func client() throws -> ConvLogClient { try ConvLogClient(socketPath: socketPath, timeout: .seconds(60)) }

    /// SIGTERM, then wait for the exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// An executable built beside this one (`convlogd`, `convlog`).
func siblingExecutable(_ name: String) -> URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name)
}

/// Seconds elapsed since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// A failure with a message, for the bench.
struct ValidationErrorText: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
