// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "convlog",
    products: [
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Projections", targets: ["Projections"]),
        .executable(name: "convlog", targets: ["convlog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
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
        .target(
            name: "EventLog",
            dependencies: [
                "CLMDB",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Projections",
            dependencies: ["EventLog"]
        ),
        .target(
            name: "ConvLog",
            dependencies: ["EventLog", "Projections"]
        ),
        .executableTarget(
            name: "convlog",
            dependencies: [
                "EventLog",
                "Projections",
                "ConvLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/convlog"
        ),
        .executableTarget(
            name: "convlog-bench",
            dependencies: [
                "EventLog",
                "Projections",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/bench"
        ),
        // A child process for the crash-safety test: appends in a loop and reports each acknowledged append.
        .executableTarget(
            name: "EventLogCrashWriter",
            dependencies: ["EventLog"],
            path: "Tests/EventLogCrashWriter"
        ),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "EventLog"]
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "CLMDB", "EventLogCrashWriter"]
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["EventLog", "Projections", "convlog"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
