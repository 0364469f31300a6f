import ArgumentParser
import ConvLog
import EventLog
import Foundation
import LLMRewriter
import Logging
import Projections
import RPCServer
import PostgresLog
import ServiceLifecycle
import Synchronization
import ConvLogRPC
import JSONRPC

/// `convlogd`: the conversation-memory daemon.
@main
struct Daemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convlogd",
        abstract: "Serve conversation memory to LLM orchestrators over JSON-RPC on a Unix socket.",
        discussion: """
            Every option can also come from the environment variable shown with it; a flag wins. \
            Defaults: data in $XDG_DATA_HOME/convlog (~/.local/share/convlog), socket <data-dir>/convlogd.sock.

            SIGTERM or SIGINT stop it gracefully: it stops accepting, answers the requests in flight, \
            commits, closes the log and removes the socket.

            With --store postgres://…, the log of record is in PostgreSQL, shared by every daemon \
            pointed at it (one per host); --data-dir then holds this daemon's mirror of it.

            Examples:
              convlogd --data-dir ./var/data
              CONVLOG_DATA_DIR=./var/data convlog sessions
              convlogd --store postgres://convlog@db.internal/convlog --store-password-file /etc/convlog/pg-password
            """,
        version: ConvLogVersion.current
    )

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Where the event log lives. [CONVLOG_DATA_DIR]", valueName: "dir"))
    var dataDirectory: String?

    @Option(help: ArgumentHelp("The Unix socket to listen on. [CONVLOG_SOCKET]", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("fsync (every acknowledged write is on disk) or nosync (faster; a power loss may lose the last writes). With --store it is the local mirror's (default nosync: PostgreSQL holds every acknowledged write). [CONVLOG_DURABILITY]", valueName: "mode"))
    var durability: String?

    @Option(help: ArgumentHelp("Keep the log of record in PostgreSQL, shared with other daemons: postgres://USER@HOST:PORT/DB (or ?host=/socket/dir); --data-dir then holds this daemon's mirror. No password in the URL. [CONVLOG_STORE]", valueName: "url"))
    var store: String?

    @Option(name: .customLong("store-password-file"), help: ArgumentHelp("A file holding the PostgreSQL password (else CONVLOG_STORE_PASSWORD, if set). [CONVLOG_STORE_PASSWORD_FILE]", valueName: "path"))
    var storePasswordFile: String?

    @Option(help: ArgumentHelp("Messages kept per session for getContext (a change rebuilds the window). [CONVLOG_WINDOW]", valueName: "n"))
    var window: Int?

    @Option(name: .customLong("max-frame-bytes"), help: ArgumentHelp("The longest request line accepted. [CONVLOG_MAX_FRAME_BYTES]", valueName: "bytes"))
    var maxFrameBytes: Int?

    @Option(name: .customLong("allow-uid"), help: ArgumentHelp("A user id allowed to connect, besides the daemon's own (repeatable). [CONVLOG_ALLOW_UIDS, comma-separated]", valueName: "uid"))
    var allowUIDs: [UInt32] = []

    @Option(name: .customLong("llm-url"), help: ArgumentHelp("Base URL of an OpenAI-compatible server for rewrite=llm (e.g. http://127.0.0.1:8080); unset: rules only. [CONVLOG_LLM_URL]", valueName: "url"))
    var llmURL: String?

    @Option(name: .customLong("llm-model"), help: ArgumentHelp("The model name sent to that server. [CONVLOG_LLM_MODEL]", valueName: "name"))
    var llmModel: String?

    @Option(name: .customLong("llm-api-key-env"), help: ArgumentHelp("The environment variable holding the API key (default OPENAI_API_KEY). [CONVLOG_LLM_API_KEY_ENV]", valueName: "name"))
    var llmAPIKeyVariable: String?

    @Option(name: .customLong("llm-timeout-ms"), help: ArgumentHelp("How long one rewrite may take before the rules answer instead (default 2000). [CONVLOG_LLM_TIMEOUT_MS]", valueName: "ms"))
    var llmTimeoutMilliseconds: Int?

    @Option(help: ArgumentHelp("Delete sessions this many seconds after their last write, unless created with their own ttlSeconds (default: off, sessions never expire). [CONVLOG_RETENTION]", valueName: "seconds"))
    var retention: Int?

    @Option(name: .customLong("sweep-interval"), help: ArgumentHelp("How often expired sessions are looked for and deleted (default 60). [CONVLOG_SWEEP_INTERVAL]", valueName: "seconds"))
    var sweepInterval: Int?

    @Option(name: .customLong("subscriber-buffer"), help: ArgumentHelp("Events one live-tail subscriber may have waiting before it is ended as too slow (default 10000; it may subscribe again from where it stopped). [CONVLOG_SUBSCRIBER_BUFFER]", valueName: "events"))
    var subscriberBuffer: Int?

    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp("Serve Prometheus metrics at GET /metrics on this host:port, e.g. 127.0.0.1:9464 (default: off). [CONVLOG_METRICS_LISTEN]", valueName: "host:port"))
    var metricsListen: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp("trace, debug, info, notice, warning, error or critical. [CONVLOG_LOG_LEVEL]", valueName: "level"))
    var logLevel: String?

    func run() async throws {
        let settings: DaemonSettings
        do {
            settings = try DaemonSettings(flags: self, environment: ProcessInfo.processInfo.environment)
        } catch let error as DaemonSettings.Invalid {
            throw ValidationError(error.description)
        }
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        var logger = Logger(label: "convlogd")
        logger.logLevel = settings.logLevel

        let lock: DataDirectoryLock
        let views: ConversationViews
        do {
            lock = try DataDirectoryLock(directory: settings.dataDirectory)
            var storeConfiguration = EventStore.Configuration()
            storeConfiguration.durability = settings.durability
            if settings.metricsListen != nil { storeConfiguration.commitObserver = DaemonMetrics.recordCommit }
            storeConfiguration.sharedLog = try settings.store.map { try PostgresSharedLog($0, logger: logger) }
            views = try ConversationViews.open(directory: settings.dataDirectory, configuration: storeConfiguration, windowCapacity: settings.window)
        } catch {
            var metadata: Logger.Metadata = ["dataDir": "\(settings.dataDirectory.path)", "error": "\(error)"]
            if let store = settings.store { metadata["store"] = "\(store)" }
            logger.critical("cannot open the event log", metadata: metadata)
            throw ExitCode.failure
        }
        let eventCount = try views.store.counts().events
        logger.info(
            "opened event log",
            metadata: [
                "dataDir": "\(settings.dataDirectory.path)", "events": "\(eventCount)",
                "durability": "\(settings.durability.rawValue)", "window": "\(views.window.capacity)",
                "store": "\(settings.store.map(String.init(describing:)) ?? "local")",
            ]
        )
        let started = ContinuousClock.now
        let service = ConversationService(
            views: views,
            limits: settings.limits,
            followUp: FollowUpSettings(rewriter: settings.llm.map(OpenAIRewriter.init)),
            retention: RetentionPolicy(defaultTTLSeconds: settings.retentionSeconds)
        )
        if let llm = settings.llm { logger.info("llm rewriter configured", metadata: ["url": "\(llm.baseURL)", "model": "\(llm.model)"]) }
        let storageFull = StorageFullReporter(dataDirectory: settings.dataDirectory, logger: logger)
        let metrics = settings.metricsListen.map { _ in DaemonMetrics.bootstrap() }
        let table = ConvLogMethods.table(service: service) {
            let elapsed = ContinuousClock.now - started
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        let dispatcher = RPCDispatcher(
            methods: metrics == nil ? table : DaemonMetrics.instrument(table, mapError: ConvLogMethods.mapError),
            mapError: { [logger] error in
                let mapped = ConvLogMethods.mapError(error)
                // The client sees only "Internal error": the operator needs the cause.
                if mapped.code == RPCError.internalErrorCode { logger.error("internal error answering a request", metadata: ["error": "\(error)"]) }
                if mapped.code == RPCError.storageFullCode { storageFull.report(error) }
                return mapped
            }
        )
        var serverConfiguration = RPCServer.Configuration(socketPath: settings.socket.path)
        serverConfiguration.maximumFrameBytes = settings.maxFrameBytes
        serverConfiguration.peerPolicy = PeerPolicy(allowedUIDs: Set([getuid()] + settings.allowedUIDs))
        let server = RPCServer(dispatcher: dispatcher, configuration: serverConfiguration, logger: logger)
        let sweeper = RetentionSweeper(service: service, interval: .seconds(settings.sweepIntervalSeconds), logger: logger)
        var exporter: MetricsEndpoint?
        if let metrics, let listen = settings.metricsListen {
            exporter = MetricsEndpoint(metrics: metrics, host: listen.host, port: listen.port, views: views, dataDirectory: settings.dataDirectory, server: server)
        }
        let daemon = DaemonService(server: server, views: views, lock: lock, sweeper: sweeper, metrics: exporter, logger: logger)
        let group = ServiceGroup(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch let error as RPCServer.StartError {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

/// The daemon's one service: serve until a graceful shutdown, then stop in order.
struct DaemonService: Service, CustomStringConvertible {
    var description: String { "convlogd" }

    let server: RPCServer
    let views: ConversationViews
    let lock: DataDirectoryLock
    let sweeper: RetentionSweeper
    let metrics: MetricsEndpoint?
    let logger: Logger

    func run() async throws {
        let endpoint: MetricsHTTPServer?
        do {
            try await server.start()
            endpoint = try await metrics?.start()
            if let endpoint, let metrics { logger.info("metrics listening", metadata: ["address": "\(metrics.host):\(endpoint.port)"]) }
        } catch {
            await server.stop()
            views.store.close()
            throw error
        }
        let sweeping = Task { await sweeper.run() }
        do {
            try await gracefulShutdown()
        } catch is CancellationError {
            // Cancelled rather than asked: stop all the same.
        }
        logger.info("shutting down")
        sweeping.cancel()
        await sweeping.value
        await endpoint?.stop()
        await server.stop()
        views.store.close()
        lock.release()
        logger.info("event log closed")
    }
}

/// Deletes expired sessions every `interval`, in batches (each deletion is an ordinary append,
/// committed with whatever else is waiting: appends never stall behind a sweep).
struct RetentionSweeper {
    let service: ConversationService
    let interval: Duration
    let logger: Logger
    static let batch = 100

    func run() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do {
                var deleted = 0
                while !Task.isCancelled {
                    let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
                    let swept = try await service.sweepExpired(now: now, limit: Self.batch)
                    deleted += swept
                    if swept < Self.batch { break }
                }
                if deleted > 0 { logger.info("expired sessions deleted", metadata: ["count": "\(deleted)"]) }
            } catch {
                logger.error("retention sweep failed; retrying at the next interval", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Logs a full disk (or map) once, at error level, with the data directory and its free space,
/// then at most once a minute while appends keep failing.
final class StorageFullReporter: Sendable {
    let dataDirectory: URL
    let logger: Logger
    private let lastReport = Mutex<ContinuousClock.Instant?>(nil)

    init(dataDirectory: URL, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    func report(_ error: any Error) {
        let due = lastReport.withLock { last in
            guard last.map({ ContinuousClock.now - $0 >= .seconds(60) }) ?? true else { return false }
            last = .now
            return true
        }
        guard due else { return }
        var stat = statvfs()
        let free = statvfs(dataDirectory.path, &stat) == 0 ? String(UInt64(stat.f_bavail) * UInt64(stat.f_frsize)) : "unknown"
        logger.error(
            "storage full: appends are refused (-32006) until space is freed; reads go on",
            metadata: ["dataDir": "\(dataDirectory.path)", "freeBytes": "\(free)", "error": "\(error)"]
        )
    }
}

/// Where and what the metrics endpoint serves.
struct MetricsEndpoint: Sendable {
    let metrics: DaemonMetrics
    let host: String
    let port: Int
    let views: ConversationViews
    let dataDirectory: URL
    let server: RPCServer

    func start() async throws -> MetricsHTTPServer {
        try await MetricsHTTPServer.start(host: host, port: port) { [metrics, views, dataDirectory, server] in
            metrics.render(views: views, dataDirectory: dataDirectory, connections: { server.connectionCount })
        }
    }
}
