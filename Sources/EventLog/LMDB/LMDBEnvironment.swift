import CLMDB
import Foundation

/// A handle to one named database inside an ``LMDBEnvironment`` (an `MDB_dbi`).
///
/// Handles are opened once, in the first write transaction, and stay valid for the environment's lifetime.
public struct LMDBDatabase: Sendable, Hashable {
    let dbi: MDB_dbi
}

/// Owns an LMDB environment (`MDB_env`): one directory holding `data.mdb` and `lock.mdb`.
///
/// Transactions exist only inside the synchronous closures of ``read(_:)`` and ``write(_:)``:
/// an LMDB write transaction is bound to the OS thread that began it, so it must never span an
/// `await`. The environment is opened with `MDB_NOTLS`, so read transactions may run on any thread.
///
/// ```swift
/// let env = try LMDBEnvironment(directory: url, configuration: .init())
/// let count = try env.read { txn in try txn.entryCount(of: events) }
/// ```
///
/// Related LMDB documentation: <http://www.lmdb.tech/doc/group__mdb.html>
public final class LMDBEnvironment: @unchecked Sendable {
    // Sendable because MDB_env is thread-safe, the handle is immutable and only closed in deinit,
    // and map resizes are serialised against every transaction of this process by `resizeLock`.

    /// How an environment is opened.
    public struct Configuration: Sendable {
        /// The map size to start with; it grows on demand (see ``LMDBEnvironment/growMap(atLeast:)``).
        public var initialMapSize: Int = 1 << 30
        /// The map never grows past this; appends then fail with a map-full error.
        public var maximumMapSize: Int = 1 << 40
        /// Concurrent read transactions across all processes using the environment.
        public var maxReaders: UInt32 = 512
        /// Named databases the environment may hold.
        public var maxDatabases: UInt32 = 16
        /// When false (`MDB_NOSYNC`), commits are not flushed to disk: a crash of the machine
        /// (not of the process) may lose the last commits. The default flushes every commit.
        public var syncOnCommit: Bool = true
        /// Opens the environment read-only (`MDB_RDONLY`), for audit tools.
        public var readOnly: Bool = false

        public init() {}
    }

    let handle: OpaquePointer
    /// The configuration this environment was opened with.
    public let configuration: Configuration
    private let resizeLock = ResizeLock()

    /// Opens (creating files when missing, unless read-only) the environment in `directory`.
    ///
    /// Reader slots left behind by dead processes are cleared on open (`mdb_reader_check`).
    /// - Throws: ``LMDBError`` when the directory is missing or unreadable, or is not an LMDB environment.
    public init(directory: URL, configuration: Configuration) throws {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: ENOMEM, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxreaders(env, configuration.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, configuration.maxDatabases), "mdb_env_set_maxdbs")
            if !configuration.readOnly {
                try check(mdb_env_set_mapsize(env, configuration.initialMapSize), "mdb_env_set_mapsize")
            }
            var flags = UInt32(MDB_NOTLS)
            if !configuration.syncOnCommit { flags |= UInt32(MDB_NOSYNC) }
            if configuration.readOnly { flags |= UInt32(MDB_RDONLY) }
            try check(mdb_env_open(env, directory.path, flags, 0o600), "mdb_env_open(\(directory.path))")
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.configuration = configuration
    }

    deinit {
        mdb_env_close(handle)
    }

    /// The current map size in bytes: the most the data file may grow to before the map grows.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }

    /// Flushes the data file to disk (`mdb_env_sync` with force), whatever ``Configuration/syncOnCommit`` says.
    public func sync() throws {
        try check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// Opens a named database, creating it when `create` is true, in its own write transaction.
    public func openDatabase(named name: String, create: Bool) throws -> LMDBDatabase {
        try write { txn in try txn.openDatabase(named: name, create: create) }
    }

    /// Runs `body` in a read-only transaction: a consistent snapshot that never blocks the writer.
    ///
    /// Memory returned by the transaction is valid only inside `body`: copy what you keep.
    public func read<T>(_ body: (borrowing LMDBTransaction) throws -> T) throws -> T {
        try transaction(flags: UInt32(MDB_RDONLY), body)
    }

    /// Runs `body` in a write transaction and commits it when `body` returns; aborts when it throws.
    ///
    /// Write transactions are serialised by LMDB across threads and processes: this call blocks while
    /// another write transaction is open. Call it from a dedicated thread, never the cooperative pool.
    /// - Throws: what `body` throws, or ``LMDBError`` (``LMDBError/isMapFull`` when the map is full:
    ///   nothing was written; grow the map with ``growMap(atLeast:)`` and call again).
    public func write<T>(_ body: (borrowing LMDBTransaction) throws -> T) throws -> T {
        try transaction(flags: 0, body)
    }

    /// Like ``write(_:)``, but when the map is full, grows it (``growMap(atLeast:)``) and runs `body`
    /// again in a new transaction: nothing of the failed attempt was written.
    /// - Throws: ``LMDBError/isMapFull`` only once the map is at ``Configuration/maximumMapSize``.
    public func writeGrowingMap<T>(_ body: (borrowing LMDBTransaction) throws -> T) throws -> T {
        while true {
            do {
                return try write(body)
            } catch let error as LMDBError where error.isMapFull {
                try growMap(atLeast: mapSize + 1)
            }
        }
    }

    /// Grows the map to at least `minimumSize` bytes, doubling from the current size, up to
    /// ``Configuration/maximumMapSize``. Waits for this process's open transactions to finish.
    /// - Returns: the new map size.
    /// - Throws: ``LMDBError/isMapFull`` when the map is already at its maximum.
    @discardableResult
    public func growMap(atLeast minimumSize: Int) throws -> Int {
        try resizeLock.withExclusive {
            var newSize = max(mapSize, 1 << 16)
            while newSize < minimumSize { newSize *= 2 }
            newSize = min(newSize, configuration.maximumMapSize)
            guard newSize > mapSize else { throw LMDBError(code: MDB_MAP_FULL, operation: "growMap") }
            try check(mdb_env_set_mapsize(handle, newSize), "mdb_env_set_mapsize(\(newSize))")
            return newSize
        }
    }

    private func transaction<T>(
        flags: UInt32,
        _ body: (borrowing LMDBTransaction) throws -> T
    ) throws -> T {
        while true {
            let outcome: T? = try resizeLock.withShared {
                var txn: OpaquePointer?
                let code = mdb_txn_begin(handle, nil, flags, &txn)
                if code == MDB_MAP_RESIZED { return nil }
                try check(code, "mdb_txn_begin")
                let transaction = LMDBTransaction(handle: txn!, isWritable: flags & UInt32(MDB_RDONLY) == 0)
                let result: T
                do {
                    result = try body(transaction)
                } catch {
                    mdb_txn_abort(txn)
                    throw error
                }
                // Read-only transactions are committed too: that keeps database handles they opened.
                try check(mdb_txn_commit(txn), "mdb_txn_commit")
                return result
            }
            if let outcome { return outcome }
            // Another process grew the map: adopt its size, then begin again.
            try resizeLock.withExclusive { try check(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize(0)") }
        }
    }
}
