import ConvLogRPC
import EventLog
import Foundation
import JSON
import JSONRPC
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Projections
import Prometheus
import RPCServer

/// The daemon's Prometheus metrics (swift-metrics, exported by swift-prometheus): requests, errors
/// and latency per method, group commits, and the log's size, read when scraped.
struct DaemonMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    /// Installs the Prometheus backend for swift-metrics (once per process).
    static func bootstrap() -> DaemonMetrics {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return DaemonMetrics(registry: registry)
    }

    /// `table` with every method counted and timed (`convlog_requests_total`,
    /// `convlog_request_errors_total{code}`, `convlog_request_duration_seconds`).
    static func instrument(_ table: [String: RPCMethod], mapError: @escaping @Sendable (any Error) -> RPCError) -> [String: RPCMethod] {
        table.reduce(into: [:]) { instrumented, entry in
            let (name, method) = entry
            let requests = Counter(label: "convlog_requests_total", dimensions: [("method", name)])
            let latency = Metrics.Timer(label: "convlog_request_duration_seconds", dimensions: [("method", name)], preferredDisplayUnit: .seconds)
            let record: @Sendable (ContinuousClock.Instant, (any Error)?) -> Void = { started, error in
                requests.increment()
                latency.record(duration: ContinuousClock.now - started)
                if let error {
                    Counter(label: "convlog_request_errors_total", dimensions: [("method", name), ("code", String(mapError(error).code))]).increment()
                }
            }
            @Sendable func measured<Result>(_ body: () throws -> Result) throws -> Result {
                let started = ContinuousClock.now
                do {
                    let result = try body()
                    record(started, nil)
                    return result
                } catch {
                    record(started, error)
                    throw error
                }
            }
            @Sendable func measured<Result>(_ body: () async throws -> Result) async throws -> Result {
                let started = ContinuousClock.now
                do {
                    let result = try await body()
                    record(started, nil)
                    return result
                } catch {
                    record(started, error)
                    throw error
                }
            }
            switch method.handler {
            case .immediate(let body):
                instrumented[name] = .immediate { raw in try measured { try body(raw) } }
            case .immediateEncoded(let body):
                instrumented[name] = .immediateEncoded { raw in try measured { try body(raw) } }
            case .connected(let body):
                instrumented[name] = .connected { raw, connection in try measured { try body(raw, connection) } }
            case .deferred(let body):
                instrumented[name] = .deferred { raw in try await measured { try await body(raw) } }
            case .deferredEncoded(let body):
                instrumented[name] = .deferredEncoded { raw in try await measured { try await body(raw) } }
            case .completing(let body):
                instrumented[name] = .completing { raw, completion in
                    let started = ContinuousClock.now
                    body(raw) { make in
                        completion {
                            let result = make()
                            if case .failure(let error) = result { record(started, error) } else { record(started, nil) }
                            return result
                        }
                    }
                }
            }
        }
    }

    /// Records one group commit: how many appends it took and how long it took, fsync included.
    static func recordCommit(appends: Int, duration: Duration) {
        Recorder(label: "convlog_commit_batch_appends", aggregate: true).record(appends)
        Metrics.Timer(label: "convlog_commit_duration_seconds", preferredDisplayUnit: .seconds).record(duration: duration)
    }

    /// The gauges read at scrape time, then the registry in Prometheus text format.
    func render(views: ConversationViews, dataDirectory: URL, connections: @Sendable () -> Int) -> [UInt8] {
        if let counts = try? views.store.counts(), let deleted = try? views.store.deletedSessionCount() {
            Gauge(label: "convlog_log_events").record(counts.events)
            Gauge(label: "convlog_sessions", dimensions: [("state", "live")]).record(counts.sessions - deleted)
            Gauge(label: "convlog_sessions", dimensions: [("state", "deleted")]).record(deleted)
        }
        let file = (try? FileManager.default.attributesOfItem(atPath: dataDirectory.appendingPathComponent("data.mdb").path)[.size] as? Int) ?? 0
        Gauge(label: "convlog_data_file_bytes").record(file)
        Gauge(label: "convlog_map_bytes").record(views.store.environment.mapSize)
        Gauge(label: "convlog_connections").record(connections())
        Gauge(label: "convlog_subscriptions").record(views.store.subscriptionCount)
        Gauge(label: "convlog_subscriptions_ended_too_slow").record(views.store.subscriptionsEndedTooSlow)
        return registry.emitToBuffer()
    }
}

/// Serves `GET /metrics` over HTTP/1.1 (NIOHTTP1); anything else is 404.
final class MetricsHTTPServer: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    /// Listens on `host:port` (port 0: any free port; see ``port``).
    static func start(host: String, port: Int, render: @escaping @Sendable () -> [UInt8]) async throws -> MetricsHTTPServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port)
            .get()
        return MetricsHTTPServer(channel: channel)
    }

    /// The port it listens on.
    var port: Int { channel.localAddress?.port ?? 0 }

    func stop() async {
        try? await channel.close()
    }
}

/// Answers one request per connection, then closes it.
private final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> [UInt8]
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> [UInt8]) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            let found = request.method == .GET && (request.uri == "/metrics" || request.uri.hasPrefix("/metrics?"))
            let body = found ? render() : Array("not found: the metrics are at GET /metrics\n".utf8)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.count))
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(mode: .output, promise: nil)
        }
    }
}
