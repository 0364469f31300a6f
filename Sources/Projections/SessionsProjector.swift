import EventLog

/// The `sessions` projection: one ``SessionState`` per session, and two indexes that list
/// sessions by last update, overall and per user.
public struct SessionsProjector: LogProjector {
    public let name = "sessions"
    let sessions: LMDBDatabase
    let byUpdate: LMDBDatabase
    let byUser: LMDBDatabase

    public var tables: [LMDBDatabase] { [sessions, byUpdate, byUser] }
    /// The row format version.
    public var fingerprint: [UInt8] { [ProjectionRows.rowVersion] }

    /// Opens its tables (creating them in a write transaction).
    public init(txn: borrowing LMDBTransaction) throws {
        sessions = try txn.openDatabase(named: "projection.sessions", create: txn.isWritable)
        byUpdate = try txn.openDatabase(named: "projection.sessionsByUpdate", create: txn.isWritable)
        byUser = try txn.openDatabase(named: "projection.sessionsByUser", create: txn.isWritable)
    }

    public func apply(_ record: RecordedEvent, in txn: borrowing LMDBTransaction) throws {
        let key = ProjectionRows.sessionKey(record.sessionID)
        if SessionState.next(nil, record) == nil {  // a deletion (or an erased event: the same fold as ``Fold``)
            guard let stored = try txn.get(sessions, key: key) else { return }
            let old = try ProjectionRows.SessionRowKeys(stored)
            try txn.delete(sessions, key: key)
            try txn.delete(byUpdate, key: old.updateKey)
            if let userID = old.userID { try txn.delete(byUser, key: userID + [0] + old.updateKey) }
            return
        }
        // The old row's index keys, and the new row: patched in place when only its counters
        // change (a message: the common case), else decoded, folded and encoded.
        guard let stored = try txn.get(sessions, key: key) else {
            let new = SessionState.folding(nil, record)
            try txn.put(sessions, key: key, value: ProjectionRows.encode(new))
            try txn.put(byUpdate, key: ProjectionRows.updateKey(new), value: [])
            if let userID = new.userID { try txn.put(byUser, key: ProjectionRows.userKey(userID, new), value: []) }
            return
        }
        // `stored` points into the map: copy what is needed before writing.
        let old = try ProjectionRows.SessionRowKeys(stored)
        let row = SessionState.changesOnlyCounters(record.event)
            ? try ProjectionRows.patchedSessionRow(stored, after: record)
            : ProjectionRows.encode(SessionState.folding(try ProjectionRows.decodeSession(stored), record))
        try txn.put(sessions, key: key, value: row)
        // Events of one commit share a timestamp: the index keys move only when it changed.
        guard old.lastUpdated != record.timestamp else { return }
        var moved = old
        moved.lastUpdated = record.timestamp
        try txn.delete(byUpdate, key: old.updateKey)
        try txn.put(byUpdate, key: moved.updateKey, value: [])
        if let userID = old.userID {
            try txn.delete(byUser, key: userID + [0] + old.updateKey)
            try txn.put(byUser, key: userID + [0] + moved.updateKey, value: [])
        }
    }

    public func makeFold() -> any ProjectionFold { Fold() }

    /// Every session's state, folded in memory.
    struct Fold: ProjectionFold {
        var states: [String: SessionState] = [:]

        mutating func add(_ record: RecordedEvent) {
            // ``SessionState/next(_:_:)`` in place: one look-up, no copy of the state.
            switch record.event {
            case .sessionDeleted, .erased: states[record.sessionID] = nil
            default: SessionState.fold(record, into: &states[record.sessionID])
            }
        }

        func rows() -> [PackedRows] {
            var sessionRows: [ProjectionRow] = []
            var updateRows: [ProjectionRow] = []
            var userRows: [ProjectionRow] = []
            for state in states.values {
                sessionRows.append(ProjectionRow(key: ProjectionRows.sessionKey(state.sessionID), value: ProjectionRows.encode(state)))
                updateRows.append(ProjectionRow(key: ProjectionRows.updateKey(state), value: []))
                if let userID = state.userID { userRows.append(ProjectionRow(key: ProjectionRows.userKey(userID, state), value: [])) }
            }
            return [sessionRows, updateRows, userRows].map(PackedRows.init(sorting:))
        }
    }

    /// The state of one session, or nil when it does not exist.
    /// (The stored row only: ``ConversationViews`` overlays the events not applied yet.)
    func state(of sessionID: String, txn: borrowing LMDBTransaction) throws -> SessionState? {
        try txn.get(sessions, key: ProjectionRows.sessionKey(sessionID)).map { try ProjectionRows.decodeSession($0) }
    }

    /// Sessions last updated before `bound` (UTC ms) that `include` accepts, least recently updated
    /// first, at most `limit` (stored rows only: a session updated since may still be listed).
    func updated(before bound: Int64, limit: Int, txn: borrowing LMDBTransaction, where include: (String) throws -> Bool) throws -> [String] {
        try ProjectionRows.sessions(timedBefore: bound, in: byUpdate, limit: limit, txn: txn, where: include)
    }

    /// Sessions by last update, newest first, optionally of one user: up to `limit` after `cursor`,
    /// leaving out the `excluded` ones (whose rows lag; the caller lists them).
    func list(userID: String?, limit: Int, after cursor: SessionCursor?, excluding excluded: Set<String>, txn: borrowing LMDBTransaction) throws -> SessionPage {
        let prefix = userID.map(ProjectionRows.userPrefix) ?? []
        let table = userID == nil ? byUpdate : byUser
        return try txn.withCursor(table) { position in
            // Seek just past the wanted range, then walk backwards (newest first).
            let upperBound = cursor.map { prefix + $0.key } ?? (prefix.isEmpty ? nil : Array(prefix.dropLast()) + [1])
            var entry = try upperBound.map { try position.seek(before: $0) } ?? position.last()
            var page = SessionPage(sessions: [], nextCursor: nil)
            while let current = entry, current.key.starts(with: prefix), page.sessions.count < limit {
                let updateKey = Array(current.key.dropFirst(prefix.count))
                let sessionID = String(decoding: updateKey.dropFirst(8), as: UTF8.self)
                if !excluded.contains(sessionID), let state = try state(of: sessionID, txn: txn) { page.sessions.append(state) }
                entry = try position.previous()
                if page.sessions.count == limit, let next = entry, next.key.starts(with: prefix) {
                    page.nextCursor = SessionCursor(key: updateKey)
                }
            }
            return page
        }
    }
}

/// A place in a list of sessions, to ask for the next page.
public struct SessionCursor: Sendable, Hashable {
    let key: [UInt8]

    /// The cursor as an opaque string for clients.
    public var token: String { key.hexString }

    /// Reads a token made by ``token``; nil when it is not one.
    public init?(token: String) {
        guard token.count % 2 == 0, token.count >= 16 else { return nil }
        var bytes: [UInt8] = []
        var index = token.startIndex
        while index < token.endIndex {
            let next = token.index(index, offsetBy: 2)
            guard let byte = UInt8(token[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        key = bytes
    }

    init(key: [UInt8]) { self.key = key }
}

/// One page of sessions, newest update first.
public struct SessionPage: Sendable, Hashable {
    public var sessions: [SessionState]
    /// Where the next page starts; nil on the last page.
    public var nextCursor: SessionCursor?
}
