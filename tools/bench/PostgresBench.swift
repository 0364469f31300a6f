import Foundation
import JSON

/// A throwaway PostgreSQL cluster for the bench: default durability (fsync, synchronous commit),
/// on a Unix socket in a directory of its own, removed at the end. As root it runs as the
/// `postgres` user (PostgreSQL refuses root).
final class PostgresServer {
    let directory: URL
    private let binaries: URL
    private let user: String?

    /// The `--store` URL of its `postgres` database.
    var url: String { "postgres://\(user ?? NSUserName())@/postgres?host=\(directory.path)" }

    init(directory: URL) throws {
        guard let bin = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().last else {
            throw ValidationErrorText("PostgreSQL is not installed (apt-get install postgresql)")
        }
        binaries = URL(fileURLWithPath: "/usr/lib/postgresql/\(bin)/bin")
        self.directory = directory
        user = geteuid() == 0 ? "postgres" : nil
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let user { try run("/bin/chown", [user, directory.path], asUser: false) }
        try run(binaries.appendingPathComponent("initdb").path, ["-D", directory.appendingPathComponent("data").path, "-A", "trust", "-U", user ?? NSUserName()])
        try run(binaries.appendingPathComponent("pg_ctl").path, [
            "-D", directory.appendingPathComponent("data").path, "-w", "-l", directory.appendingPathComponent("log").path,
            "-o", "-k \(directory.path) -c listen_addresses='' -c max_connections=100", "start",
        ])
    }

    /// `pgbench`: `clients` clients for `seconds`, each transaction one single-row insert of a
    /// `bytes`-byte message into a table keyed like convlog's log. Returns transactions per second.
    func pgbenchInserts(clients: Int, seconds: Int, bytes: Int) throws -> Double {
        try psql("CREATE TABLE IF NOT EXISTS bench_messages (id bigserial PRIMARY KEY, session_id text NOT NULL, body text NOT NULL)")
        let script = directory.appendingPathComponent("insert.sql")
        try Data("\\set s random(1, 2000)\nINSERT INTO bench_messages (session_id, body) VALUES ('s' || :s, repeat('x', \(bytes)));\n".utf8).write(to: script)
        if let user { try run("/bin/chown", [user, script.path], asUser: false) }
        let output = try run(binaries.appendingPathComponent("pgbench").path, [
            "-n", "-h", directory.path, "-c", String(clients), "-j", "2", "-T", String(seconds), "-f", script.path, "postgres",
        ])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
            let tps = Double(line.dropFirst(6).split(separator: " ").first ?? "")
        else { throw ValidationErrorText("unexpected pgbench output: \(output)") }
        return tps
    }

    func psql(_ sql: String) throws {
        try run(binaries.appendingPathComponent("psql").path, ["-h", directory.path, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql])
    }

    func stop() {
        _ = try? run(binaries.appendingPathComponent("pg_ctl").path, ["-D", directory.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String], asUser: Bool = true) throws -> String {
        let process = Process()
        if asUser, let user {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", user, "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw ValidationErrorText("\(URL(fileURLWithPath: executable).lastPathComponent) failed: \(text.suffix(2000))") }
        return text
    }
}

extension Baselines {
    /// Durable adds with `clients` clients through convlogd on one PostgreSQL — spread over two
    /// daemons (half the clients each), and all on one — next to `pgbench` doing single-row
    /// inserts with as many clients, on the same server in the same run.
    func postgres(sessions: Int, messages: Int, bytes: Int, clients: Int) throws -> [String: JSONValue] {
        let server = try PostgresServer(directory: workDirectory.appendingPathComponent("pg-\(UUID().uuidString.prefix(8))"))
        defer { server.stop() }
        let pgbench = try server.pgbenchInserts(clients: clients, seconds: 10, bytes: bytes)
        let store = ["--store", server.url]
        let daemons = try (0..<2).map { index in
            try DaemonHandle.start(dataDirectory: workDirectory.appendingPathComponent("pg-mirror-\(index)-\(UUID().uuidString.prefix(8))"), extraArguments: store).0
        }
        defer { for daemon in daemons { daemon.stop() } }
        // Two drivers at once, one per daemon, on disjoint sessions.
        let results = UncheckedResults(count: daemons.count)
        let targets = daemons.map { (socket: $0.socketPath, pid: $0.pid) }
        DispatchQueue.concurrentPerform(iterations: targets.count) { index in
            results.set(index, Result {
                try load("convlog-add", socket: targets[index].socket, clients: clients / 2, sessions: sessions / 2, messages: messages,
                         bytes: bytes, tag: "pg\(index)", serverPID: targets[index].pid)
            })
        }
        let spread = try results.values()
        let one = try load("convlog-add", socket: daemons[0].socketPath, clients: clients, sessions: sessions, messages: messages, bytes: bytes, tag: "pgone",
                           serverPID: daemons[0].pid)
        let spreadRequests = spread.map(\.requests).reduce(0, +)
        return [
            "pgbenchInsertsPerSecond": .double(pgbench),
            "twoDaemonsMessagesPerSecond": .double(spread.map(\.perSecond).reduce(0, +)),
            "twoDaemonsP50Micros": .double(spread.map(\.p50Micros).reduce(0, +) / Double(spread.count)),
            "twoDaemonsCPUMicros": .double(spreadRequests > 0 ? spread.map(\.serverCPUSeconds).reduce(0, +) * 1e6 / spreadRequests : 0),
            "oneDaemonMessagesPerSecond": .double(one.perSecond),
            "oneDaemonP50Micros": .double(one.p50Micros),
        ]
    }
}

/// Results written by concurrent workers, one slot each.
private final class UncheckedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<LoadResult, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<LoadResult, any Error>) { lock.withLock { slots[index] = result } }

    func values() throws -> [LoadResult] { try lock.withLock { try slots.map { try $0!.get() } } }
}
