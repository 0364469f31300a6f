import CLMDB
import Foundation

/// Hot backup: a consistent, compacted copy of the log and its projections, taken while a daemon
/// keeps appending (LMDB copies one read snapshot; writers are not blocked).
public enum LogBackup {
    /// What a backup holds.
    public struct Report: Sendable, Hashable {
        /// The last record in the copy.
        public var head: ChainHead
        public var bytes: Int
    }

    /// Copies the log in `directory` into `destination` (created, mode 0700; it must not exist or
    /// be an empty directory). `convlogd --data-dir DESTINATION` starts on the copy.
    public static func backup(from directory: URL, to destination: URL) throws -> Report {
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("data.mdb").path) else {
            throw EventStoreError(.notAnEventLog, "no event log in \(directory.path) (no data.mdb)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, try FileManager.default.contentsOfDirectory(atPath: destination.path).isEmpty else {
                throw EventStoreError(.invalidAppend, "\(destination.path) exists and is not an empty directory")
            }
        } else {
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var configuration = LMDBEnvironment.Configuration()
        configuration.readOnly = true
        let environment = try LMDBEnvironment(directory: directory, configuration: configuration)
        try check(mdb_env_copy2(environment.handle, destination.path, UInt32(MDB_CP_COMPACT)), "mdb_env_copy2(\(destination.path))")
        // The copy's head, read from the copy itself.
        var readOnly = EventStore.Configuration()
        readOnly.readOnly = true
        let store = try EventStore(directory: destination, configuration: readOnly)
        defer { store.close() }
        let bytes = (try FileManager.default.attributesOfItem(atPath: destination.appendingPathComponent("data.mdb").path)[.size] as? Int) ?? 0
        return Report(head: try store.head(), bytes: bytes)
    }
}
