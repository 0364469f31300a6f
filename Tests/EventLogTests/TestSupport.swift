import Foundation

@testable import EventLog

/// A fresh directory under the system temporary directory, removed when `body` returns.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("convlog-test-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// A built executable of this package, found beside the running test binary.
func builtExecutable(named name: String) -> URL {
    let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return testBinary.deletingLastPathComponent().appendingPathComponent(name)
}

/// A user message event with the given id and text.
func message(_ id: String, _ text: String = "hello", role: MessageRole = .user) -> Event {
    .messageAdded(MessageAdded(messageID: id, role: role, content: .text(text)))
}

extension EventStore.Configuration {
    /// The default configuration with another durability.
    static func with(durability: EventStore.Durability) -> Self {
        var configuration = Self()
        configuration.durability = durability
        return configuration
    }
}
