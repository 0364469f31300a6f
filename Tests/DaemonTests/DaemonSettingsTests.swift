import Foundation
import Testing

@testable import convlogd

@Suite("Daemon settings")
struct DaemonSettingsTests {
    private func settings(_ arguments: [String], _ environment: [String: String]) throws -> DaemonSettings {
        try DaemonSettings(flags: try Daemon.parse(arguments), environment: environment)
    }

    @Test("defaults follow XDG, the environment overrides them, and a flag wins over the environment")
    func precedence() throws {
        let defaults = try settings([], ["HOME": "/home/u", "XDG_DATA_HOME": "/xdg"])
        #expect(defaults.dataDirectory.path == "/xdg/convlog")
        #expect(defaults.socket.path == "/xdg/convlog/convlogd.sock")
        #expect(defaults.durability == .fsync && defaults.maxFrameBytes == 1 << 20 && defaults.window == nil && defaults.llm == nil)

        let environment = ["CONVLOG_DATA_DIR": "/env/data", "CONVLOG_DURABILITY": "nosync", "CONVLOG_WINDOW": "7",
                           "CONVLOG_ALLOW_UIDS": "1000, 1001", "CONVLOG_LLM_URL": "http://127.0.0.1:9", "CONVLOG_LLM_TIMEOUT_MS": "300",
                           "CONVLOG_LLM_API_KEY_ENV": "MY_KEY", "MY_KEY": "secret", "CONVLOG_LOG_LEVEL": "debug"]
        let fromEnvironment = try settings([], environment)
        #expect(fromEnvironment.dataDirectory.path == "/env/data" && fromEnvironment.socket.path == "/env/data/convlogd.sock")
        #expect(fromEnvironment.durability == .nosync && fromEnvironment.window == 7 && fromEnvironment.allowedUIDs == [1000, 1001])
        #expect(fromEnvironment.llm?.baseURL == "http://127.0.0.1:9" && fromEnvironment.llm?.apiKey == "secret")
        #expect(fromEnvironment.llm?.timeout == .milliseconds(300) && fromEnvironment.logLevel == .debug)

        let flags = try settings(["--data-dir", "/flag", "--durability", "fsync", "--window", "3", "--allow-uid", "5", "--socket", "/tmp/s.sock"], environment)
        #expect(flags.dataDirectory.path == "/flag" && flags.socket.path == "/tmp/s.sock")
        #expect(flags.durability == .fsync && flags.window == 3 && flags.allowedUIDs == [5])

        #expect(defaults.limits.subscriberBound.events == 10_000)
        #expect(try settings([], ["CONVLOG_SUBSCRIBER_BUFFER": "500"]).limits.subscriberBound.events == 500)
        #expect(try settings(["--subscriber-buffer", "64"], ["CONVLOG_SUBSCRIBER_BUFFER": "500"]).limits.subscriberBound.events == 64)
    }

    @Test("bad values are refused naming the flag", arguments: [
        (["--durability", "sometimes"], [String: String](), "--durability"),
        (["--window", "0"], [:], "--window"),
        (["--max-frame-bytes", "10"], [:], "--max-frame-bytes"),
        (["--log-level", "loud"], [:], "--log-level"),
        (["--llm-url", "ftp://x"], [:], "--llm-url"),
        (["--llm-url", "http://x", "--llm-timeout-ms", "1"], [:], "--llm-timeout-ms"),
        ([], ["CONVLOG_ALLOW_UIDS": "root"], "CONVLOG_ALLOW_UIDS"),
        (["--socket", "/" + String(repeating: "s", count: 120)], [:], "--socket"),
        (["--subscriber-buffer", "2"], [:], "--subscriber-buffer"),
    ])
    func invalid(arguments: [String], environment: [String: String], flag: String) throws {
        let error = #expect(throws: DaemonSettings.Invalid.self) { try settings(arguments, environment) }
        #expect(error?.description.contains(flag) == true, "\(error?.description ?? "")")
    }
}
