import EventLog
import Foundation

/// The alternatives, measured in the same run: raw LMDB and a raw Unix-socket echo in C,
/// LangGraph's SqliteSaver and durable Redis lists in Python.
struct Baselines {
    /// Where the baseline sources are (`tools/bench/baselines`).
    let sourceDirectory: URL
    /// A scratch directory for binaries and data.
    let workDirectory: URL
    /// The Python of the bench venv (langgraph, langgraph-checkpoint-sqlite, redis).
    let python: URL

    /// Compiles the C baselines.
    func compile() throws {
        try run("/usr/bin/cc", ["-O2", sourceDirectory.appendingPathComponent("lmdb_append.c").path, "-llmdb", "-o", binary("lmdb_append").path])
        try run("/usr/bin/cc", ["-O2", sourceDirectory.appendingPathComponent("unix_echo.c").path, "-lpthread", "-o", binary("unix_echo").path])
    }

    func lmdb(count: Int, bytes: Int) throws -> [String: JSONValue] {
        let directory = workDirectory.appendingPathComponent("lmdb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try json(binary("lmdb_append").path, [directory.path, String(count), String(bytes), "64"])
    }

    func echo(rounds: Int) throws -> [String: JSONValue] {
        try json(binary("unix_echo").path, [workDirectory.appendingPathComponent("echo.sock").path, String(rounds), "300"])
    }

    func langGraph(sessions: Int, messages: Int, bytes: Int, reads: Int) throws -> [String: JSONValue] {
        try json(python.path, [script("langgraph_saver.py"), "--sessions", String(sessions), "--messages", String(messages), "--bytes", String(bytes), "--reads", String(reads)])
    }

    func redis(sessions: Int, messages: Int, bytes: Int, clients: Int, reads: Int) throws -> [String: JSONValue] {
        try json(python.path, [
            script("redis_lists.py"), "--sessions", String(sessions), "--messages", String(messages), "--bytes", String(bytes),
            "--clients", String(clients), "--reads", String(reads),
        ])
    }

    private func binary(_ name: String) -> URL { workDirectory.appendingPathComponent(name) }
    private func script(_ name: String) -> String { sourceDirectory.appendingPathComponent(name).path }

    private func json(_ executable: String, _ arguments: [String]) throws -> [String: JSONValue] {
        let output = try run(executable, arguments)
        guard let line = output.split(separator: "\n").last, let value = try? JSONValue(parsing: Array(line.utf8)), let object = value.objectValue else {
            throw ValidationErrorText("\(executable) printed no JSON: \(output)")
        }
        return object
    }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) throws -> String {
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
