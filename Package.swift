// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "convlog",
    products: [
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Projections", targets: ["Projections"]),
        .executable(name: "convlog", targets: ["convlog"]),
        .executable(name: "convlogd", targets: ["convlogd"]),
        .library(name: "ConvLogClient", targets: ["ConvLogClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // JSON values, the strict RFC 8259 parser, canonical encoding, ISO 8601 times: no dependencies.
        .target(name: "JSON"),
        .target(
            name: "EventLog",
            dependencies: [
                "CLMDB",
                "JSON",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The shared log of record on PostgreSQL (a fleet of daemons): a `SharedLog` over postgres-nio.
        .target(
            name: "PostgresLog",
            dependencies: [
                "EventLog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Projections",
            dependencies: ["EventLog", "JSON"]
        ),
        .target(name: "FollowUp"),
        .target(
            name: "LLMRewriter",
            dependencies: [
                "CCurl", "FollowUp", "JSON",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "ConvLog",
            dependencies: ["EventLog", "JSON", "Projections", "FollowUp"]
        ),
        .systemLibrary(name: "CConvLogSystem"),
        // Wire-level JSON-RPC 2.0: requests, responses, errors, the dispatcher (no socket, no convlog).
        .target(name: "JSONRPC", dependencies: ["JSON"]),
        // The convlog method table over the service, and the OpenRPC document.
        .target(
            name: "ConvLogRPC",
            dependencies: ["JSON", "JSONRPC", "EventLog", "Projections", "ConvLog", "FollowUp"]
        ),
        .target(
            name: "RPCServer",
            dependencies: [
                "JSONRPC",
                "CConvLogSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ConvLogClient",
            dependencies: ["JSON", "JSONRPC"]
        ),
        .executableTarget(
            name: "convlogd",
            dependencies: [
                "RPCServer",
                "JSON",
                "JSONRPC",
                "ConvLogRPC",
                "ConvLog",
                "Projections",
                "EventLog",
                "PostgresLog",
                "LLMRewriter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "convlog",
            dependencies: [
                "EventLog",
                "Projections",
                "ConvLog",
                "FollowUp",
                "LLMRewriter",
                "JSON",
                "JSONRPC",
                "ConvLogRPC",
                "ConvLogClient",
                "PostgresLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/convlog"
        ),
        .executableTarget(
            name: "convlog-bench",
            dependencies: [
                "EventLog",
                "Projections",
                "FollowUp",
                "JSON",
                "JSONRPC",
                "ConvLog",
                "ConvLogRPC",
                "ConvLogClient",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/bench",
            exclude: ["baselines"]
        ),
        // libFuzzer target for the JSON-RPC front (make fuzz); a replayer of saved inputs otherwise.
        .executableTarget(
            name: "fuzz-rpc",
            dependencies: ["JSON", "JSONRPC"],
            path: "tools/fuzz-rpc"
        ),
        // A child process for the crash-safety test: appends in a loop and reports each acknowledged append.
        .executableTarget(
            name: "EventLogCrashWriter",
            dependencies: ["EventLog", "JSON"],
            path: "Tests/EventLogCrashWriter"
        ),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "EventLog", "JSON"]
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "JSON", "CLMDB", "EventLogCrashWriter", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "EventLog", "JSON", "Projections", "ConvLog", "JSONRPC", "ConvLogRPC", "RPCServer", "ConvLogClient", "convlogd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PostgresLogTests",
            dependencies: ["PostgresLog", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "FollowUpTests",
            dependencies: ["FollowUp", "ConvLog", "EventLog", "JSON"]
        ),
        .testTarget(
            name: "LLMRewriterTests",
            dependencies: ["LLMRewriter", "FollowUp", "ConvLog", "Projections", "EventLog", "JSON"]
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["EventLog", "JSON", "Projections", "convlog", "convlogd", "convlog-bench"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
