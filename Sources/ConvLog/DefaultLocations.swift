import Foundation

/// Where convlog keeps its data and its socket when no flag or variable says otherwise.
///
/// | what | order of precedence |
/// |---|---|
/// | data directory | `--data-dir`, `$CONVLOG_DATA_DIR`, `$XDG_DATA_HOME/convlog`, `~/.local/share/convlog` |
/// | socket | `--socket`, `$CONVLOG_SOCKET`, `<data directory>/convlogd.sock` |
///
/// The daemon, the CLI and the Python client resolve these the same way, so they find each other
/// with no configuration.
public enum DefaultLocations {
    /// The data directory from the environment, or the XDG default.
    public static func dataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["CONVLOG_DATA_DIR"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit, isDirectory: true)
        }
        let dataHome = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.local/share")
        return URL(fileURLWithPath: dataHome, isDirectory: true).appendingPathComponent("convlog", isDirectory: true)
    }

    /// The socket path from the environment, or the default inside `dataDirectory`.
    public static func socket(dataDirectory: URL, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["CONVLOG_SOCKET"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        return dataDirectory.appendingPathComponent("convlogd.sock")
    }
}
