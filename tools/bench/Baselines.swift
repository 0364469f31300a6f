import EventLog
import Foundation
import JSON

/// The alternatives, measured in the same run: raw LMDB and a raw Unix-socket echo in C, durable
/// Redis lists driven by the same C load driver as convlogd, and LangGraph's SqliteSaver in Python.
struct Baselines {
    /// Where the baseline sources are (`tools/bench/baselines`).
    let sourceDirectory: URL
    /// A scratch directory for binaries and data.
    let workDirectory: URL
    /// The Python of the bench venv (langgraph, langgraph-checkpoint-sqlite).
    let python: URL

    /// Compiles the C programs: the baselines and the load driver.
    func compile() throws {
        try run("/usr/bin/cc", ["-O2", sourceDirectory.appendingPathComponent("lmdb_append.c").path, "-llmdb", "-o", binary("lmdb_append").path])
        try run("/usr/bin/cc", ["-O2", sourceDirectory.appendingPathComponent("unix_echo.c").path, "-lpthread", "-o", binary("unix_echo").path])
        try run("/usr/bin/cc", ["-O2", sourceDirectory.appendingPathComponent("rpc_load.c").path, "-lpthread", "-o", binary("rpc_load").path])
        // Executable whatever the umask was (a test process may narrow it while this one compiles).
        for name in ["lmdb_append", "unix_echo", "rpc_load"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary(name).path)
        }
    }

    /// LMDB alone: one commit per record, and `batch` records per commit.
    func lmdb(count: Int, bytes: Int, batch: Int) throws -> [String: JSONValue] {
        let directory = workDirectory.appendingPathComponent("lmdb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try json(binary("lmdb_append").path, [directory.path, String(count), String(bytes), String(batch)])
    }

    /// Runs the C load driver (`rpc_load.c`) against a socket, measuring `serverPID`'s CPU time.
    func load(_ mode: String, socket: String, clients: Int, sessions: Int, messages: Int, bytes: Int, tag: String, serverPID: Int32) throws -> LoadResult {
        let before = ProcessCPU.seconds(of: serverPID)
        let result = try json(binary("rpc_load").path, [mode, socket, String(clients), String(sessions), String(messages), String(bytes), tag])
        let cpu = ProcessCPU.seconds(of: serverPID) - before
        return LoadResult(result, serverCPUSeconds: cpu)
    }

    /// Durable Redis lists (`appendonly yes`, `appendfsync always`) on a Unix socket, driven by
    /// the same C driver as convlogd: RPUSH from 1 and from `clients` clients, LRANGE -5 -1.
    func redis(sessions: Int, messages: Int, singleSessions: Int, singleMessages: Int, bytes: Int, clients: Int, reads: Int) throws -> [String: JSONValue] {
        let server = try RedisServer(directory: workDirectory.appendingPathComponent("redis-\(UUID().uuidString.prefix(8))"))
        defer { server.stop() }
        let single = try load("redis-add", socket: server.socketPath, clients: 1, sessions: singleSessions, messages: singleMessages, bytes: bytes, tag: "one", serverPID: server.pid)
        let many = try load("redis-add", socket: server.socketPath, clients: clients, sessions: sessions, messages: messages, bytes: bytes, tag: "many", serverPID: server.pid)
        let read = try load("redis-read", socket: server.socketPath, clients: 1, sessions: sessions, messages: reads, bytes: bytes, tag: "many", serverPID: server.pid)
        return [
            "addMessagesPerSecond": .double(single.perSecond), "addP50Micros": .double(single.p50Micros),
            "addCPUMicros": .double(single.serverCPUMicrosPerRequest),
            "concurrentAddMessagesPerSecond": .double(many.perSecond), "concurrentAddP50Micros": .double(many.p50Micros),
            "concurrentAddCPUMicros": .double(many.serverCPUMicrosPerRequest),
            "readP50Micros": .double(read.p50Micros), "readP99Micros": .double(read.p99Micros),
        ]
    }

    func echo(rounds: Int) throws -> [String: JSONValue] {
        try json(binary("unix_echo").path, [workDirectory.appendingPathComponent("echo.sock").path, String(rounds), "300"])
    }

    func langGraph(sessions: Int, messages: Int, bytes: Int, reads: Int) throws -> [String: JSONValue] {
        try json(python.path, [script("langgraph_saver.py"), "--sessions", String(sessions), "--messages", String(messages), "--bytes", String(bytes), "--reads", String(reads)])
    }


    /// One LangGraph chat of `turns` invokes with one checkpointer (`memory`, `sqlite`, or
    /// `convlog` on the daemon at `socket` whose data directory is `dataDirectory`).
    func langGraphChat(saver: String, turns: Int, bytes: Int, socket: String? = nil, dataDirectory: URL? = nil) throws -> [String: JSONValue] {
        var arguments = [script("langgraph_chat.py"), "--saver", saver, "--turns", String(turns), "--bytes", String(bytes)]
        if let socket { arguments += ["--socket", socket] }
        if let dataDirectory { arguments += ["--data-dir", dataDirectory.path] }
        return try json(python.path, arguments)
    }

    private func binary(_ name: String) -> URL { workDirectory.appendingPathComponent(name) }
    private func script(_ name: String) -> String { sourceDirectory.appendingPathComponent(name).path }

    fileprivate func json(_ executable: String, _ arguments: [String]) throws -> [String: JSONValue] {
        let output = try run(executable, arguments)
        guard let line = output.split(separator: "\n").last, let value = try? JSONValue(parsing: Array(line.utf8)), let object = value.objectValue else {
            throw ValidationErrorText("\(executable) printed no JSON: \(output)")
        }
        return object
    }

    @discardableResult
    fileprivate func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationErrorText("\(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.first ?? "") failed: \(errorText.suffix(2000))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

extension [String: JSONValue] {
    /// A number member as a Double (0 when absent).
    func number(_ key: String) -> Double {
        switch self[key] {
        case .integer(let value)?: Double(value)
        case .double(let value)?: value
        default: 0
        }
    }
}

/// What the C load driver measured, and the server's CPU time over it.
struct LoadResult {
    var requests: Double
    var perSecond: Double
    var p50Micros: Double
    var p99Micros: Double
    /// Mean bytes of a request's payload (for `add`: the message as JSON).
    var meanPayloadBytes: Double
    var serverCPUSeconds: Double

    init(_ json: [String: JSONValue], serverCPUSeconds: Double) {
        requests = json.number("requests")
        perSecond = json.number("perSecond")
        p50Micros = json.number("p50Micros")
        p99Micros = json.number("p99Micros")
        meanPayloadBytes = json.number("meanPayloadBytes")
        self.serverCPUSeconds = serverCPUSeconds
    }

    /// The server's CPU time (user + system, all threads) per request.
    var serverCPUMicrosPerRequest: Double { requests > 0 ? serverCPUSeconds * 1e6 / requests : 0 }
}

/// CPU time of another process, from `/proc/PID/stat`.
enum ProcessCPU {
    /// User + system seconds of every thread of `pid` so far (0 when unreadable).
    static func seconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ")", options: .backwards)
        else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// A durable redis-server on a Unix socket in its own directory, killed at the end (the data is
/// not needed; a graceful stop would rewrite and sync the AOF).
final class RedisServer {
    let process = Process()
    let socketPath: String
    let directory: URL
    var pid: Int32 { process.processIdentifier }

    init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("redis.sock").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = [
            "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700", "--dir", directory.path,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let started = ContinuousClock.now
        while !FileManager.default.fileExists(atPath: socketPath) {
            guard process.isRunning, ContinuousClock.now - started < .seconds(30) else {
                stop()
                throw ValidationErrorText("redis-server did not start")
            }
            usleep(5_000)
        }
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
