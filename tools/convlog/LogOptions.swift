import ArgumentParser
import ConvLog
import EventLog
import Foundation
import Glibc
import Projections

/// How every offline command finds the log: `--data-dir`, or the directory of the daemon's `--socket`.
struct LogOptions: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "The daemon's data directory (default: $CONVLOG_DATA_DIR, else $XDG_DATA_HOME/convlog or ~/.local/share/convlog).",
            valueName: "dir"
        )
    )
    var dataDirectory: String?

    @Option(help: ArgumentHelp("The daemon's socket, to find its data directory (the socket's directory) when --data-dir is not given.", valueName: "path"))
    var socket: String?

    func validate() throws {
        if socket != nil, dataDirectory != nil { throw ValidationError("give --data-dir or --socket, not both") }
    }

    var directory: URL {
        if let dataDirectory { return URL(fileURLWithPath: dataDirectory, isDirectory: true) }
        if let socket { return URL(fileURLWithPath: socket).deletingLastPathComponent() }
        return DefaultLocations.dataDirectory()
    }

    /// The pid of the convlogd serving this data directory (it holds `convlogd.lock`), or nil.
    func runningDaemonPID() -> String? {
        let path = directory.appendingPathComponent("convlogd.lock").path
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_SH | LOCK_NB) != 0 else {
            flock(descriptor, LOCK_UN)
            return nil
        }
        var owner = [UInt8](repeating: 0, count: 32)
        let count = read(descriptor, &owner, owner.count)
        return count > 0 ? String(decoding: owner[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
    }

    /// Opens the log read-only, with its projections as they were built.
    func openReadOnly() throws -> ConversationViews {
        var configuration = EventStore.Configuration()
        configuration.readOnly = true
        return try open(configuration: configuration)
    }

    /// Opens the log for writing (used by rebuild); `windowCapacity` nil keeps the stored one.
    func openWritable(windowCapacity: Int?) throws -> ConversationViews {
        try open(configuration: EventStore.Configuration(), windowCapacity: windowCapacity)
    }

    private func open(configuration: EventStore.Configuration, windowCapacity: Int? = nil) throws -> ConversationViews {
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw CLIError("no data directory at \(directory.path)")
        }
        if socket != nil, !FileManager.default.fileExists(atPath: directory.appendingPathComponent("data.mdb").path) {
            throw CLIError("the socket's directory \(directory.path) holds no event log; give the daemon's --data-dir")
        }
        do {
            return try ConversationViews.open(directory: directory, configuration: configuration, windowCapacity: windowCapacity)
        } catch let error as EventStoreError {
            throw CLIError("\(directory.path): \(error.message)")
        } catch let error as LMDBError where error.code == EACCES {
            throw CLIError("\(directory.path): permission denied")
        } catch let error as LMDBError {
            throw CLIError("\(directory.path) is not a readable convlog log (\(error))")
        }
    }
}

/// A failure the CLI reports in one line and exits 1 for.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Exit code 3: the log or a projection is not what was written.
extension ExitCode {
    static let integrityFailure = ExitCode(3)
    /// Exit code 4: a projection was built with other parameters or by another version (rebuild it).
    static let staleProjection = ExitCode(4)
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
