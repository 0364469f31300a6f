import ArgumentParser
import ConvLog
import EventLog
import Foundation
import Glibc
import PostgresLog
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

    @Option(help: ArgumentHelp("Read the shared log in PostgreSQL instead of a data directory: postgres://USER@HOST:PORT/DB (no password in the URL). [CONVLOG_STORE]", valueName: "url"))
    var store: String?

    @Option(name: .customLong("store-password-file"), help: ArgumentHelp("A file holding the PostgreSQL password (else CONVLOG_STORE_PASSWORD, if set).", valueName: "path"))
    var storePasswordFile: String?

    func validate() throws {
        if socket != nil, dataDirectory != nil { throw ValidationError("give --data-dir or --socket, not both") }
        if store != nil, dataDirectory != nil || socket != nil { throw ValidationError("give --store or a data directory (--data-dir, --socket), not both") }
    }

    /// The shared log named by `--store` (else `CONVLOG_STORE` when no data directory is named), or nil.
    func sharedLocation() throws -> PostgresLocation? {
        let environment = ProcessInfo.processInfo.environment
        guard let url = store ?? (dataDirectory == nil && socket == nil ? environment["CONVLOG_STORE"].flatMap { $0.isEmpty ? nil : $0 } : nil) else { return nil }
        let password: String?
        if let storePasswordFile {
            guard let text = try? String(contentsOfFile: storePasswordFile, encoding: .utf8) else { throw CLIError("cannot read --store-password-file \(storePasswordFile)") }
            password = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
        } else {
            password = environment["CONVLOG_STORE_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        }
        do {
            return try PostgresLocation(url: url, password: password)
        } catch {
            throw CLIError("--store: \(error)")
        }
    }

    /// Refuses `--store` for a command that works on a data directory only, saying what to do instead.
    func refuseStore(_ instead: String) throws {
        if try sharedLocation() != nil { throw CLIError(instead) }
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

    /// Opens the log read-only, with its projections as they were built. With `--store`, copies
    /// the whole shared log into a fresh temporary mirror first, checking every record against
    /// the chain, and opens that (removed when the command exits).
    func openReadOnly() throws -> ConversationViews {
        if let location = try sharedLocation() { return try openFreshMirror(of: location) }
        var configuration = EventStore.Configuration()
        configuration.readOnly = true
        return try open(configuration: configuration)
    }

    /// Opens the log for writing (used by rebuild); `windowCapacity` nil keeps the stored one.
    func openWritable(windowCapacity: Int?) throws -> ConversationViews {
        try open(configuration: EventStore.Configuration(), windowCapacity: windowCapacity)
    }

    private func openFreshMirror(of location: PostgresLocation) throws -> ConversationViews {
        let directory = try TemporaryMirror.make()
        var configuration = EventStore.Configuration()
        configuration.durability = .nosync
        do {
            configuration.sharedLog = try PostgresSharedLog(location)
            printError("reading the shared log at \(location) into \(directory.path)…")
            return try ConversationViews.open(directory: directory, configuration: configuration)
        } catch let error as SharedLogError {
            throw CLIError("\(location): \(error.message)")
        } catch let error as EventStoreError {
            configuration.sharedLog?.close()
            if error.code == .notAMirror { throw SharedChainFailure(description: "\(location): \(error.message)") }
            throw CLIError("\(location): \(error.message)")
        }
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

/// The temporary directories that hold a command's mirror of a shared log, removed at exit.
enum TemporaryMirror {
    nonisolated(unsafe) private static var directories: [String] = []

    /// A new empty directory under $TMPDIR (mode 0700), removed when the process exits.
    static func make() throws -> URL {
        var template = Array((NSTemporaryDirectory() + "/convlog-mirror-XXXXXX").utf8CString)
        guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            throw CLIError("cannot create a temporary directory in \(NSTemporaryDirectory())")
        }
        if directories.isEmpty { atexit { TemporaryMirror.removeAll() } }
        directories.append(path)
        return URL(fileURLWithPath: path, isDirectory: true)
    }

    private static func removeAll() {
        for path in directories { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// The shared log's records do not verify (found while copying them into a mirror).
struct SharedChainFailure: Error, CustomStringConvertible {
    var description: String
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
