import CLMDB

/// A live LMDB transaction, lent to the closures of ``LMDBEnvironment/read(_:)`` and ``LMDBEnvironment/write(_:)``.
///
/// It cannot be copied or stored; byte buffers it returns point into the memory map and are valid
/// only until the transaction ends (or, in a write transaction, until the next write).
public struct LMDBTransaction: ~Copyable {
    let handle: OpaquePointer
    /// Whether puts and deletes are allowed.
    public let isWritable: Bool

    /// Opens a named database; with `create`, creates it when missing (write transactions only).
    public func openDatabase(named name: String, create: Bool) throws -> LMDBDatabase {
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(handle, name, create ? UInt32(MDB_CREATE) : 0, &dbi), "mdb_dbi_open(\(name))")
        return LMDBDatabase(dbi: dbi)
    }

    /// The value stored under `key`, or nil; valid until the transaction ends or the next write.
    public func get(_ database: LMDBDatabase, key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        var value = MDB_val()
        let code = key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(handle, database.dbi, &keyValue, &value)
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, "mdb_get")
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// Stores `value` under `key`.
    /// - Parameter append: the key sorts after every key in the database (`MDB_APPEND`): a faster
    ///   insert that fails with `MDB_KEYEXIST` when the promise does not hold.
    public func put(_ database: LMDBDatabase, key: [UInt8], value: [UInt8], append: Bool = false) throws {
        try key.withUnsafeBytes { key in try value.withUnsafeBytes { value in try put(database, key: key, value: value, append: append) } }
    }

    /// ``put(_:key:value:append:)`` of borrowed bytes.
    public func put(_ database: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, append: Bool = false) throws {
        var keyValue = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var dataValue = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(handle, database.dbi, &keyValue, &dataValue, append ? UInt32(MDB_APPEND) : 0), "mdb_put")
    }

    /// Deletes `key`; returns whether it was there.
    @discardableResult
    public func delete(_ database: LMDBDatabase, key: [UInt8]) throws -> Bool {
        let code = key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_del(handle, database.dbi, &keyValue, nil)
        }
        if code == MDB_NOTFOUND { return false }
        try check(code, "mdb_del")
        return true
    }

    /// The keys of `database` that start with `prefix` (not empty), in order; copies, so the
    /// caller may delete them afterwards.
    public func keys(startingWith prefix: [UInt8], in database: LMDBDatabase) throws -> [[UInt8]] {
        try withCursor(database) { cursor in
            var keys: [[UInt8]] = []
            var entry = try cursor.seek(atOrAfter: prefix)
            while let current = entry, current.key.starts(with: prefix) {
                keys.append(Array(current.key))
                entry = try cursor.next()
            }
            return keys
        }
    }

    /// Removes every entry of `database`, keeping the database itself.
    public func clear(_ database: LMDBDatabase) throws {
        try check(mdb_drop(handle, database.dbi, 0), "mdb_drop")
    }

    /// The number of entries in `database`.
    public func entryCount(of database: LMDBDatabase) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, database.dbi, &stat), "mdb_stat")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `database`; the cursor is closed when `body` returns.
    public func withCursor<T>(_ database: LMDBDatabase, _ body: (inout LMDBCursor) throws -> T) throws -> T {
        var cursorHandle: OpaquePointer?
        try check(mdb_cursor_open(handle, database.dbi, &cursorHandle), "mdb_cursor_open")
        defer { mdb_cursor_close(cursorHandle) }
        var cursor = LMDBCursor(handle: cursorHandle!)
        return try body(&cursor)
    }
}

/// A key and value borrowed from the memory map, valid while their transaction lasts.
public struct LMDBEntry {
    /// The key's bytes.
    public var key: UnsafeRawBufferPointer
    /// The value's bytes.
    public var value: UnsafeRawBufferPointer
}

/// A position in a database, lent by ``LMDBTransaction/withCursor(_:_:)``.
public struct LMDBCursor: ~Copyable {
    let handle: OpaquePointer

    /// The first entry.
    public mutating func first() throws -> LMDBEntry? { try move(MDB_FIRST) }
    /// The last entry.
    public mutating func last() throws -> LMDBEntry? { try move(MDB_LAST) }
    /// The entry after the current one.
    public mutating func next() throws -> LMDBEntry? { try move(MDB_NEXT) }
    /// The entry before the current one.
    public mutating func previous() throws -> LMDBEntry? { try move(MDB_PREV) }

    /// The first entry whose key is greater than or equal to `key`.
    public mutating func seek(atOrAfter key: [UInt8]) throws -> LMDBEntry? {
        var keyValue = MDB_val()
        var dataValue = MDB_val()
        let code = key.withUnsafeBytes { keyBytes in
            keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_cursor_get(handle, &keyValue, &dataValue, MDB_SET_RANGE)
        }
        return try entry(code, keyValue, dataValue)
    }

    /// The last entry whose key is less than `bound`.
    public mutating func seek(before bound: [UInt8]) throws -> LMDBEntry? {
        try seek(atOrAfter: bound) == nil ? try last() : try previous()
    }

    private mutating func move(_ operation: MDB_cursor_op) throws -> LMDBEntry? {
        var keyValue = MDB_val()
        var dataValue = MDB_val()
        let code = mdb_cursor_get(handle, &keyValue, &dataValue, operation)
        return try entry(code, keyValue, dataValue)
    }

    private func entry(_ code: Int32, _ key: MDB_val, _ value: MDB_val) throws -> LMDBEntry? {
        if code == MDB_NOTFOUND { return nil }
        try check(code, "mdb_cursor_get")
        return LMDBEntry(
            key: UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
            value: UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
        )
    }
}
