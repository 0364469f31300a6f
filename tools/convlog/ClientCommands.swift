import ArgumentParser
import ConvLog
import ConvLogClient
import EventLog
import Foundation
import JSON
import JSONRPC

/// How the client verbs find the daemon: `--socket`, or the socket of `--data-dir`.
struct SocketOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The daemon's socket (default: $CONVLOG_SOCKET, else <data dir>/convlogd.sock).", valueName: "path"))
    var socket: String?

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp("The daemon's data directory, whose socket to use (default: $CONVLOG_DATA_DIR, else $XDG_DATA_HOME/convlog or ~/.local/share/convlog).", valueName: "dir")
    )
    var dataDirectory: String?

    func validate() throws {
        if socket != nil, dataDirectory != nil { throw ValidationError("give --socket or --data-dir, not both") }
    }

    var path: String {
        if let socket { return socket }
        if let dataDirectory { return DefaultLocations.socket(dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true), environment: [:]).path }
        return DefaultLocations.socket(dataDirectory: DefaultLocations.dataDirectory()).path
    }

    /// A connection to the daemon, or an error that says how to start it.
    func connect() throws -> ConvLogClient {
        do {
            return try ConvLogClient(socketPath: path)
        } catch {
            throw CLIError("cannot reach convlogd at \(path): \(error) (is convlogd running? start it with `make run`)")
        }
    }

    /// Calls a method and prints its result as JSON; a JSON-RPC error becomes a one-line message, exit 1.
    func callAndPrint(_ method: String, _ params: [String: JSONValue?]) async throws {
        print(try await call(try connect(), method, params).canonicalString)
    }

    /// Calls a method; a JSON-RPC error becomes a one-line message naming the field at fault.
    func call(_ client: ConvLogClient, _ method: String, _ params: [String: JSONValue?]) async throws -> JSONValue {
        do {
            return try await client.call(method, .object(params.compactMapValues { $0 }))
        } catch let error as RPCError {
            throw Self.failure(of: method, error)
        }
    }

    /// A JSON-RPC error as a one-line message.
    static func failure(of method: String, _ error: RPCError) -> CLIError {
        let field = error.data?.objectValue?["field"]?.stringValue.map { " (field \($0))" } ?? ""
        return CLIError("\(method) failed: \(error.message)\(field) [code \(error.code)]")
    }
}

/// Parses a JSON object given on the command line.
func jsonObject(_ text: String?, option: String) throws -> JSONValue? {
    guard let text else { return nil }
    guard let value = try? JSONValue(parsing: Array(text.utf8)), value.objectValue != nil else {
        throw ValidationError("\(option) must be a JSON object, e.g. '{\"key\": \"value\"}'")
    }
    return value
}

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a session (prints {sessionId, createdAt, version}).",
        discussion: "Example: convlog create --session-id chat-1 --user-id alice --context '{\"db\": \"chinook\"}'"
    )
    @OptionGroup var connection: SocketOptions
    @Option(name: .customLong("session-id"), help: "The id (default: a new UUID).") var sessionID: String?
    @Option(name: .customLong("user-id"), help: "The end user.") var userID: String?
    @Option(help: "Metadata, a JSON object.") var metadata: String?
    @Option(help: "The initial context, a JSON object.") var context: String?

    func run() async throws {
        try await connection.callAndPrint("create", [
            "sessionId": sessionID.map(JSONValue.string), "userId": userID.map(JSONValue.string),
            "metadata": try jsonObject(metadata, option: "--metadata"), "context": try jsonObject(context, option: "--context"),
        ])
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a session: it disappears from every read, and its messages are erased from the log.",
        discussion: """
            The deletion is an event in the log (with the reason), shown by `convlog replay`. The \
            payloads of the session's earlier events are erased from the log; the old bytes leave \
            the data file when it is compacted (`convlog compact`). Prints {sessionId, deleted, version}.

            Example: convlog delete chat-1 --reason "user request 2026-11-23"
            """
    )
    @OptionGroup var connection: SocketOptions
    @Argument(help: "The session.") var sessionID: String
    @Option(help: "Why (kept in the log).") var reason: String?

    func run() async throws {
        try await connection.callAndPrint("deleteSession", ["sessionId": .string(sessionID), "reason": reason.map(JSONValue.string)])
    }
}

struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add a message to a session.",
        discussion: "Example: convlog add chat-1 user 'How many artists start with A-E?'"
    )
    @OptionGroup var connection: SocketOptions
    @Argument(help: "The session.") var sessionID: String
    @Argument(help: "user, assistant, system or tool.") var role: String
    @Argument(help: "The text of the message.") var content: String
    @Option(name: .customLong("message-id"), help: "An id that makes retries safe (default: a new UUID).") var messageID: String?
    @Option(name: .customLong("expected-version"), help: "Fail unless the session is at this version.") var expectedVersion: Int64?
    @Flag(name: .customLong("create-if-missing"), help: "Create the session when it does not exist.") var createIfMissing = false

    func run() async throws {
        try await connection.callAndPrint("add", [
            "sessionId": .string(sessionID), "role": .string(role), "content": .string(content),
            "messageId": messageID.map(JSONValue.string), "expectedVersion": expectedVersion.map(JSONValue.integer),
            "createIfMissing": createIfMissing ? .bool(true) : nil,
        ])
    }
}

struct Context: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a session's last messages and context (getContext).",
        discussion: "Example: convlog context chat-1 --window 5"
    )
    @OptionGroup var connection: SocketOptions
    @Argument(help: "The session.") var sessionID: String
    @Option(help: "How many messages.") var window: Int64 = 5
    @Option(name: .customLong("max-tokens"), help: "Keep the most recent messages that fit this token estimate.") var maxTokens: Int64?
    @Option(name: .customLong("as-of"), help: "A global sequence: the session as it was then.") var asOf: Int64?

    func run() async throws {
        try await connection.callAndPrint("getContext", [
            "sessionId": .string(sessionID), "window": .integer(window),
            "maxTokens": maxTokens.map(JSONValue.integer), "asOf": asOf.map(JSONValue.integer),
        ])
    }
}

struct Analyze: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyze a question against a session (analyzeFollowUp).",
        discussion: "Example: convlog analyze chat-1 'Who are those artists?'"
    )
    @OptionGroup var connection: SocketOptions
    @Argument(help: "The session.") var sessionID: String
    @Argument(help: "The new question.") var query: String
    @Option(help: "How many recent messages to consider.") var window: Int64 = 6
    @Option(help: "rules, llm or auto.") var rewrite = "rules"

    func run() async throws {
        try await connection.callAndPrint("analyzeFollowUp", [
            "sessionId": .string(sessionID), "query": .string(query), "window": .integer(window), "rewrite": .string(rewrite),
        ])
    }
}

struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List sessions, newest update first (listSessions).",
        discussion: "Example: convlog sessions --user-id alice --limit 20"
    )
    @OptionGroup var connection: SocketOptions
    @Option(help: "How many.") var limit: Int64 = 50
    @Option(name: .customLong("user-id"), help: "Only this user's sessions.") var userID: String?
    @Option(help: "The next cursor of a previous page.") var after: String?

    func run() async throws {
        try await connection.callAndPrint("listSessions", [
            "limit": .integer(limit), "userId": userID.map(JSONValue.string), "after": after.map(JSONValue.string),
        ])
    }
}
