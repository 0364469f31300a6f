import ConvLogClient
import EventLog
import Foundation
import RPCServer
import Testing
import JSON
import JSONRPC

@Suite("Socket security")
struct SecurityTests {
    @Test("the socket file is created with mode 0600")
    func socketMode() async throws {
        try await withDaemon { daemon in
            var status = stat()
            #expect(lstat(daemon.socketPath, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
            #expect((status.st_mode & S_IFMT) == S_IFSOCK)
        }
    }

    @Test("the peer policy admits only listed uids")
    func policy() {
        let policy = PeerPolicy(allowedUIDs: [1000, 0])
        #expect(policy.allows(uid: 1000) && policy.allows(uid: 0))
        #expect(!policy.allows(uid: 65534))
        #expect(PeerPolicy.ownerOnly.allows(uid: getuid()))
    }

    /// Connects as `uid` (through setpriv, as root) and returns what the daemon answered to health.
    private func answer(asUID uid: UInt32, socket: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
            try:
                s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"health"}\\n')
                print(s.recv(4096).decode() or "CLOSED")
            except (BrokenPipeError, ConnectionResetError, socket.timeout) as error:
                # The daemon may close the connection before the request is even sent.
                print("CLOSED", error)
            """
        process.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/usr/bin/python3", "-c", script, socket]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    @Test(
        "a peer whose uid is not allowed is disconnected unanswered, even when the file mode would let it in",
        .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"))
    )
    func foreignPeerRefused() async throws {
        try await withDaemon { daemon in
            // Defence in depth: open the directory and the socket file to everyone, so only the
            // peer-credential check stands between the other user and the daemon.
            chmod(daemon.directory.path, 0o755)
            chmod(daemon.socketPath, 0o666)
            let refused = try answer(asUID: 65534, socket: daemon.socketPath)
            #expect(refused.hasPrefix("CLOSED"), "\(refused)")
            let client = try daemon.client()
            #expect(try await client.call("health")["status"] == "ok")
        }
        try await withDaemon(configure: { $0.peerPolicy = PeerPolicy(allowedUIDs: [0, 65534]) }) { daemon in
            chmod(daemon.directory.path, 0o755)
            chmod(daemon.socketPath, 0o666)
            let allowed = try answer(asUID: 65534, socket: daemon.socketPath)
            #expect(allowed.contains(#""status":"ok""#), "\(allowed)")
        }
    }

    @Test("a second server on a live socket refuses to start; a stale socket file is replaced")
    func liveAndStaleSockets() async throws {
        try await withDaemon { daemon in
            let second = RPCServer(
                dispatcher: RPCDispatcher(methods: [:], mapError: { _ in .internalError }),
                configuration: .init(socketPath: daemon.socketPath),
                logger: .init(label: "second")
            )
            await #expect(throws: RPCServer.StartError.self) { try await second.start() }
            let client = try daemon.client()
            #expect(try await client.call("health")["status"] == "ok")
        }
        // A socket file left behind by a dead process.
        let path = "/tmp/convlog-stale-\(UUID().uuidString.prefix(8)).sock"
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(descriptor)
        let server = RPCServer(
            dispatcher: RPCDispatcher(methods: ["ping": .immediate { _ in "pong" }], mapError: { _ in .internalError }),
            configuration: .init(socketPath: path),
            logger: .init(label: "stale")
        )
        try await server.start()
        let client = try ConvLogClient(socketPath: path)
        #expect(try await client.call("ping") == "pong")
        await server.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "the socket is removed on stop")
    }
}

@Suite("Load")
struct LoadTests {
    @Test("16 concurrent clients × 500 adds: all acknowledged, versions contiguous per session")
    func concurrentClients() async throws {
        try await withDaemon { daemon in
            let clients = 16
            let adds = 500
            let setup = try daemon.client()
            for index in 0..<4 { _ = try await setup.call("create", ["sessionId": .string("shared-\(index)")]) }
            let acknowledged = try await withThrowingTaskGroup(of: [JSONValue].self) { group in
                for clientIndex in 0..<clients {
                    group.addTask {
                        let client = try daemon.client()
                        var results: [JSONValue] = []
                        for index in 0..<adds {
                            let session = "shared-\((clientIndex + index) % 4)"
                            results.append(try await client.call("add", ["sessionId": .string(session), "role": "user", "content": .string("c\(clientIndex) m\(index)")]))
                        }
                        return results
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(acknowledged.count == clients * adds)
            #expect(Set(acknowledged.compactMap { $0["sequence"] }).count == clients * adds)
            for index in 0..<4 {
                let records = try daemon.views.store.events(inSession: "shared-\(index)")
                #expect(records.map(\.sessionVersion) == Array(1...UInt64(records.count)))
            }
            let messages = try daemon.views.store.events().filter { if case .messageAdded = $0.event { true } else { false } }
            #expect(messages.count == clients * adds)
            #expect(try daemon.views.store.verify().isIntact)
            #expect(try daemon.views.store.verifyProjections().allSatisfy { $0.holds })
        }
    }
}

@Suite("Back-pressure")
struct BackPressureTests {
    @Test("a client that pipelines requests without reading its answers does not stall another client", .timeLimit(.minutes(1)))
    func slowReader() async throws {
        try await withDaemon(configure: { $0.maximumInFlightPerConnection = 4 }) { daemon in
            let setup = try daemon.client()
            _ = try await setup.call("create", ["sessionId": "slow"])
            let slow = try daemon.client()
            var lines: [UInt8] = []
            for index in 0..<300 {
                lines += Array("{\"jsonrpc\":\"2.0\",\"id\":\(index),\"method\":\"add\",\"params\":{\"sessionId\":\"slow\",\"role\":\"assistant\",\"content\":\"\(index)\"}}\n".utf8)
            }
            _ = try await slow.exchangeRaw(lines, expectAnswer: false)
            let other = try daemon.client()
            for _ in 0..<50 { #expect(try await other.call("health")["status"] == "ok") }
            var ids = Set<Int64>()
            for _ in 0..<300 {
                let answer = try parse(try await slow.exchangeRaw([], expectAnswer: true))
                if case .integer(let id)? = answer["id"] { ids.insert(id) }
            }
            #expect(ids == Set(0..<300))
            #expect(try await other.call("getSession", ["sessionId": "slow"])["messageCount"] == 300)
        }
    }
}
