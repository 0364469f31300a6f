import ConvLog
import EventLog
import Foundation
import LLMRewriter
import Logging
import PostgresLog
import Projections

/// The daemon's settings: each from its flag, else its environment variable, else the default.
struct DaemonSettings {
    var dataDirectory: URL
    var socket: URL
    var durability: EventStore.Durability
    /// The shared log of record in PostgreSQL, or nil: the data directory's own log is it.
    var store: PostgresLocation?
    var window: Int?
    var maxFrameBytes: Int
    var allowedUIDs: [UInt32]
    var logLevel: Logger.Level
    /// The default time to live of sessions (nil: they never expire), and how often to sweep.
    var retentionSeconds: UInt64?
    var sweepIntervalSeconds: Int
    /// What one call may carry, and what a subscriber may have waiting.
    var limits = ServiceLimits()
    /// Where to serve Prometheus metrics; nil: nowhere.
    var metricsListen: (host: String, port: Int)?
    /// The language-model rewriter, when a URL is configured.
    var llm: OpenAIRewriter.Configuration?

    /// A setting that cannot be used, named with its flag.
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(flags: Daemon, environment: [String: String]) throws {
        func value(_ flag: String?, _ variable: String) -> String? {
            flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        dataDirectory = flags.dataDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? DefaultLocations.dataDirectory(environment: environment)
        socket = flags.socket.map { URL(fileURLWithPath: $0) } ?? DefaultLocations.socket(dataDirectory: dataDirectory, environment: environment)
        guard socket.path.utf8.count < 108 else {
            throw Invalid(description: "--socket path is longer than 107 bytes (a Unix socket limit): \(socket.path)")
        }

        if let url = value(flags.store, "CONVLOG_STORE") {
            let password = try Self.storePassword(file: value(flags.storePasswordFile, "CONVLOG_STORE_PASSWORD_FILE"), environment: environment)
            do {
                store = try PostgresLocation(url: url, password: password)
            } catch {
                throw Invalid(description: "--store: \(error)")
            }
        }

        // With a shared log, the local log is a mirror: PostgreSQL makes acknowledged writes durable.
        let durabilityText = value(flags.durability, "CONVLOG_DURABILITY") ?? (store == nil ? "fsync" : "nosync")
        guard let durability = EventStore.Durability(rawValue: durabilityText) else {
            throw Invalid(description: "--durability must be fsync or nosync, not \(durabilityText)")
        }
        self.durability = durability

        if let text = value(flags.window.map(String.init), "CONVLOG_WINDOW") {
            guard let window = Int(text), (1...10_000).contains(window) else { throw Invalid(description: "--window must be 1–10000, not \(text)") }
            self.window = window
        }

        let frameText = value(flags.maxFrameBytes.map(String.init), "CONVLOG_MAX_FRAME_BYTES") ?? String(1 << 20)
        guard let frame = Int(frameText), (1_024...(64 << 20)).contains(frame) else {
            throw Invalid(description: "--max-frame-bytes must be 1024–67108864, not \(frameText)")
        }
        maxFrameBytes = frame

        if !flags.allowUIDs.isEmpty {
            allowedUIDs = flags.allowUIDs
        } else if let list = environment["CONVLOG_ALLOW_UIDS"], !list.isEmpty {
            allowedUIDs = try list.split(separator: ",").map { part in
                guard let uid = UInt32(part.trimmingCharacters(in: .whitespaces)) else {
                    throw Invalid(description: "CONVLOG_ALLOW_UIDS must be comma-separated user ids, not \(list)")
                }
                return uid
            }
        } else {
            allowedUIDs = []
        }

        if let url = value(flags.llmURL, "CONVLOG_LLM_URL") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw Invalid(description: "--llm-url must start with http:// or https://") }
            var llm = OpenAIRewriter.Configuration(baseURL: url, model: value(flags.llmModel, "CONVLOG_LLM_MODEL") ?? "default")
            llm.apiKey = environment[value(flags.llmAPIKeyVariable, "CONVLOG_LLM_API_KEY_ENV") ?? "OPENAI_API_KEY"]
            let timeoutText = value(flags.llmTimeoutMilliseconds.map(String.init), "CONVLOG_LLM_TIMEOUT_MS") ?? "2000"
            guard let timeout = Int(timeoutText), (50...120_000).contains(timeout) else {
                throw Invalid(description: "--llm-timeout-ms must be 50–120000, not \(timeoutText)")
            }
            llm.timeout = .milliseconds(timeout)
            self.llm = llm
        }

        if let text = value(flags.retention.map(String.init), "CONVLOG_RETENTION") {
            guard let seconds = Int64(text), (1...RetentionPolicy.maximumTTLSeconds).contains(seconds) else {
                throw Invalid(description: "--retention must be 1–\(RetentionPolicy.maximumTTLSeconds) seconds, not \(text)")
            }
            retentionSeconds = UInt64(seconds)
        }
        let sweepText = value(flags.sweepInterval.map(String.init), "CONVLOG_SWEEP_INTERVAL") ?? "60"
        guard let sweep = Int(sweepText), (1...86_400).contains(sweep) else {
            throw Invalid(description: "--sweep-interval must be 1–86400 seconds, not \(sweepText)")
        }
        sweepIntervalSeconds = sweep

        if let text = value(flags.subscriberBuffer.map(String.init), "CONVLOG_SUBSCRIBER_BUFFER") {
            guard let events = Int(text), (16...1_000_000).contains(events) else {
                throw Invalid(description: "--subscriber-buffer must be 16–1000000 events, not \(text)")
            }
            limits.subscriberBound.events = events
        }

        if let text = value(flags.metricsListen, "CONVLOG_METRICS_LISTEN") {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port),
                !text[..<colon].isEmpty
            else {
                throw Invalid(description: "--metrics-listen must be host:port (e.g. 127.0.0.1:9464), not \(text)")
            }
            metricsListen = (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
        }

        let levelText = value(flags.logLevel, "CONVLOG_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw Invalid(description: "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        logLevel = level
    }

    /// The PostgreSQL password: the file's first line, else `CONVLOG_STORE_PASSWORD`, else none.
    private static func storePassword(file: String?, environment: [String: String]) throws -> String? {
        guard let file else { return environment["CONVLOG_STORE_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 } }
        do {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        } catch {
            throw Invalid(description: "--store-password-file: cannot read \(file): \(error.localizedDescription)")
        }
    }
}
