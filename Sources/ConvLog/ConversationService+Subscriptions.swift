import EventLog

extension ConversationService {
    /// A subscription to the log (see ``LogSubscription``): its events from `start` (default: the
    /// next event to commit) that belong to `sessionID` (any session when nil; a session that
    /// does not exist yet is allowed) and have one of `types` (any when nil).
    /// - Throws: ``ConvLogError`` `invalidParams` naming `fromSequence`, `sessionId` or `types`.
    public func subscribe(from start: UInt64?, sessionID: String?, types: [String]?) throws -> LogSubscription {
        if let start, start < 1 { throw ConvLogError.invalid("fromSequence", "must be 1 or more") }
        let sessionID = try sessionID.map(Validation.sessionID)
        var typeSet: Set<String>?
        if let types {
            guard !types.isEmpty else { throw ConvLogError.invalid("types", "must name at least one event type (omit it for all)") }
            if let unknown = types.first(where: { !EventType.known.contains($0) }) {
                throw ConvLogError.invalid("types", "holds \(unknown), not an event type (the types are \(EventType.known.joined(separator: ", ")))")
            }
            typeSet = Set(types)
        }
        let from = try start ?? (views.store.head().sequence + 1)
        return views.store.subscribe(from: from, filter: EventFilter(sessionID: sessionID, types: typeSet), bound: limits.subscriberBound)
    }
}
