import CLMDB
import Foundation

/// Compaction: the data file rewritten with only what the log and its projections hold now.
///
/// LMDB reuses freed pages but never wipes them, so the bytes of erased payloads and of deleted
/// projection rows stay in `data.mdb` until their pages are written again. Compaction first
/// finishes pending erasures, then copies every named database, entry by entry in key order,
/// into a fresh environment (new pages hold nothing but the entries), and swaps its file in.
public enum LogCompaction {
    /// What a compaction did.
    public struct Report: Sendable, Hashable {
        public var bytesBefore: Int
        public var bytesAfter: Int
        public var entries: Int
    }

    /// Compacts the log in `directory`. No other process may have the log open (stop the daemon first).
    /// - Parameter progress: called every 100,000 entries copied, with the count so far.
    public static func compact(directory: URL, progress: (Int) -> Void = { _ in }) throws -> Report {
        let chunk = 50_000
        let dataFile = directory.appendingPathComponent("data.mdb")
        guard FileManager.default.fileExists(atPath: dataFile.path) else {
            throw EventStoreError(.notAnEventLog, "no event log in \(directory.path) (no data.mdb)")
        }
        let before = try fileSize(dataFile)
        // Erase what deletions left to erase, with the stream index up to date.
        let store = try EventStore(directory: directory)
        try store.erasePendingDeletions()
        let mapSize = store.environment.mapSize
        store.close()

        let scratch = directory.appendingPathComponent(".compact-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: scratch) }
        var sourceConfiguration = LMDBEnvironment.Configuration()
        sourceConfiguration.readOnly = true
        sourceConfiguration.initialMapSize = mapSize
        var targetConfiguration = LMDBEnvironment.Configuration()
        targetConfiguration.initialMapSize = mapSize
        targetConfiguration.maximumMapSize = max(mapSize, targetConfiguration.maximumMapSize)
        var entries = 0
        do {
            let source = try LMDBEnvironment(directory: directory, configuration: sourceConfiguration)
            let target = try LMDBEnvironment(directory: scratch, configuration: targetConfiguration)
            try source.read { from in
                for name in try from.databaseNames() {
                    let origin = try from.openDatabase(named: name, create: false)
                    // In write transactions of `chunk` entries: one huge transaction could overflow LMDB's dirty-page list.
                    var resumeAfter: [UInt8]?
                    var copiedAll = false
                    while !copiedAll {
                        try target.write { to in
                            let copy = try to.openDatabase(named: name, create: true)
                            try from.withCursor(origin) { cursor in
                                var entry = try resumeAfter.map { key in try cursor.seek(atOrAfter: key).flatMap { $0.key.elementsEqual(key) ? try cursor.next() : $0 } } ?? cursor.first()
                                var copied = 0
                                while let current = entry, copied < chunk {
                                    try to.put(copy, key: Array(current.key), value: Array(current.value), append: true)
                                    resumeAfter = Array(current.key)
                                    copied += 1
                                    entries += 1
                                    if entries % 100_000 == 0 { progress(entries) }
                                    entry = try cursor.next()
                                }
                                copiedAll = entry == nil
                            }
                        }
                    }
                }
            }
            try target.sync()
        }
        // The fresh file replaces the old one in one rename; the old lock file goes with it.
        guard rename(scratch.appendingPathComponent("data.mdb").path, dataFile.path) == 0 else {
            throw EventStoreError(.invalidAppend, "cannot move the compacted file into \(directory.path): \(String(cString: strerror(errno)))")
        }
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("lock.mdb"))
        return Report(bytesBefore: before, bytesAfter: try fileSize(dataFile), entries: entries)
    }

    private static func fileSize(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
    }
}

extension LMDBTransaction {
    /// The names of the environment's named databases (the keys of its main database).
    func databaseNames() throws -> [String] {
        var main: MDB_dbi = 0
        try check(mdb_dbi_open(handle, nil, 0, &main), "mdb_dbi_open(main)")
        return try withCursor(LMDBDatabase(dbi: main)) { cursor in
            var names: [String] = []
            var entry = try cursor.first()
            while let current = entry {
                names.append(String(decoding: current.key, as: UTF8.self))
                entry = try cursor.next()
            }
            return names
        }
    }
}

extension EventStore {
    /// How the data file's pages are used: the bytes in use by the log and its projections, and
    /// the bytes of pages free for reuse (whose old contents stay until reused or compacted).
    public func storageUse() throws -> (fileBytes: Int, liveBytes: Int, reclaimableBytes: Int) {
        try environment.read { txn in
            var info = MDB_envinfo()
            var pageSize = 0
            var livePages = 0
            var stat = MDB_stat()
            try check(mdb_env_stat(environment.handle, &stat), "mdb_env_stat")
            pageSize = Int(stat.ms_psize)
            livePages += Int(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages)
            for name in try txn.databaseNames() {
                let database = try txn.openDatabase(named: name, create: false)
                try check(mdb_stat(txn.handle, database.dbi, &stat), "mdb_stat(\(name))")
                livePages += Int(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages)
            }
            try check(mdb_env_info(environment.handle, &info), "mdb_env_info")
            // Two meta pages precede the data; every page up to the last used one is in the file's used extent.
            let usedPages = Int(info.me_last_pgno) + 1
            let fileBytes = usedPages * pageSize
            let liveBytes = min(fileBytes, (livePages + 2) * pageSize)
            return (fileBytes, liveBytes, fileBytes - liveBytes)
        }
    }
}
