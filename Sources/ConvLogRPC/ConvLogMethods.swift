import ConvLog
import EventLog
import FollowUp
import Projections
import JSON
import JSONRPC

/// The convlog method table: JSON params in, service call, JSON result out.
public enum ConvLogMethods {
    /// Builds the table over `service`. `uptime` reports seconds since start for `health`.
    public static func table(service: ConversationService, extraMethods: [String: RPCMethod] = [:], uptime: @escaping @Sendable () -> Double)
        -> [String: RPCMethod]
    {
        var methods: [String: RPCMethod] = [
            "create": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["sessionId", "userId", "metadata", "context", "ttlSeconds"])
                let created = try await service.create(
                    CreateSessionRequest(
                        sessionID: try params.optionalString("sessionId"),
                        userID: try params.optionalString("userId"),
                        metadata: try params.optionalObject("metadata") ?? [:],
                        context: try params.optionalObject("context"),
                        ttlSeconds: try params.optionalInteger("ttlSeconds", in: Int64.min...Int64.max)
                    )
                )
                return [
                    "sessionId": .string(created.sessionID),
                    "createdAt": .string(Timestamp.iso8601(milliseconds: created.createdAt)),
                    "version": .integer(Int64(created.version)),
                ]
            },
            "add": .completing { raw, completion in
                let request: AddMessageRequest
                do {
                    request = try addRequest(raw)
                } catch {
                    return completion { .failure(error) }
                }
                service.add(request) { outcome in
                    completion {
                        outcome.map { added in
                            [
                                "sessionId": .string(added.sessionID),
                                "messageId": .string(added.messageID),
                                "version": .integer(Int64(added.version)),
                                "sequence": .integer(Int64(added.sequence)),
                                "timestamp": .string(Timestamp.iso8601(milliseconds: added.timestamp)),
                                "duplicate": .bool(added.duplicate),
                            ]
                        }
                    }
                }
            },
            "deleteSession": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["sessionId", "reason"])
                let sessionID = try params.string("sessionId")
                let version = try await service.deleteSession(sessionID, reason: try params.optionalString("reason"))
                return ["sessionId": .string(sessionID), "deleted": true, "version": .integer(Int64(version))]
            },
            "getContext": .immediateEncoded { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["sessionId", "window", "maxTokens", "asOf"])
                let context = try service.context(
                    of: try params.string("sessionId"),
                    window: Int(try params.optionalInteger("window", in: 0...10_000) ?? 5),
                    maxTokens: try params.optionalInteger("maxTokens", in: 0...Int64(Int32.max)).map { Int($0) },
                    asOf: try params.optionalInteger("asOf", in: 1...Int64.max).map(UInt64.init)
                )
                return canonicalJSON(context)
            },
            "analyzeFollowUp": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["sessionId", "query", "window", "rewrite"])
                let result = try await service.analyzeFollowUp(
                    sessionID: try params.string("sessionId"),
                    query: try params.string("query"),
                    window: Int(try params.optionalInteger("window", in: 0...1_000) ?? 6),
                    mode: try params.optionalChoice("rewrite", as: RewriteMode.self) ?? .rules
                )
                return json(result)
            },
            "updateContext": .deferred { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["sessionId", "changes", "expectedVersion"])
                let updated = try await service.updateContext(
                    of: try params.string("sessionId"),
                    changes: try params.object("changes"),
                    expectedVersion: try params.optionalInteger("expectedVersion").map(UInt64.init)
                )
                return ["version": .integer(Int64(updated.version)), "context": .object(updated.context)]
            },
            "getSession": .immediate { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["sessionId"])
                let sessionID = try params.string("sessionId")
                let state = try service.session(sessionID)
                var session = json(state).objectValue ?? [:]
                if let expiresAt = try service.expiry(of: state) { session["expiresAt"] = .string(Timestamp.iso8601(milliseconds: expiresAt)) }
                if let topic = try service.currentTopic(of: sessionID) { session["lastTopic"] = ConversationService.json(topic) }
                return .object(session)
            },
            "listSessions": .immediate { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["limit", "after", "userId"])
                let page = try service.listSessions(
                    limit: Int(try params.optionalInteger("limit", in: 1...Int64(service.limits.maxPageSize)) ?? 50),
                    after: try params.optionalString("after"),
                    userID: try params.optionalString("userId")
                )
                var result: [String: JSONValue] = ["sessions": .array(page.sessions.map(json))]
                if let next = page.nextCursor { result["next"] = .string(next.token) }
                return .object(result)
            },
            "readEvents": .immediate { raw in
                let params = try Params(raw)
                try params.rejectUnknown(["from", "limit", "sessionId"])
                let page = try service.readEvents(
                    from: UInt64(try params.optionalInteger("from", in: 1...Int64.max) ?? 1),
                    limit: Int(try params.optionalInteger("limit", in: 1...Int64(service.limits.maxPageSize)) ?? 100),
                    sessionID: try params.optionalString("sessionId")
                )
                var result: [String: JSONValue] = ["events": .array(page.events.map(\.jsonValue))]
                if let next = page.nextSequence { result["next"] = .integer(Int64(next)) }
                return .object(result)
            },
            "health": .immediate { raw in
                try Params(raw).rejectUnknown([])
                return ["status": "ok", "version": .string(ConvLogVersion.current), "uptimeSeconds": .double(uptime())]
            },
            "stats": .immediate { raw in
                try Params(raw).rejectUnknown([])
                let stats = try service.stats()
                return [
                    "events": .integer(Int64(stats.events)),
                    "sessions": .integer(Int64(stats.sessions)),
                    "deletedSessions": .integer(Int64(stats.deletedSessions)),
                    "headSequence": .integer(Int64(stats.head.sequence)),
                    "headHash": .string(stats.head.hash.description),
                    "mapSize": .integer(Int64(stats.mapSize)),
                    "reclaimableBytes": .integer(Int64(stats.reclaimableBytes)),
                    "pendingErasures": .integer(Int64(stats.pendingErasures)),
                    "windowCapacity": .integer(Int64(stats.windowCapacity)),
                    "subscriptions": .integer(Int64(stats.subscriptions)),
                ]
            },
        ]
        methods.merge(CheckpointMethods.table(service: service)) { _, checkpoint in checkpoint }
        methods.merge(SubscriptionMethods.table(service: service)) { _, subscription in subscription }
        methods.merge(extraMethods) { _, extra in extra }
        methods["rpc.discover"] = .immediate { _ in OpenRPCDocument.value }
        return service.views.store.isShared ? readingThroughBarrier(methods, service: service) : methods
    }

    /// Methods whose checks all happen in the log's writer (which catches up with the shared log
    /// before each commit) or that read nothing of the log.
    static let methodsWithoutBarrier: Set<String> = ["add", "create", "health", "rpc.discover"]

    /// Over a shared log, every method that reads first waits for this daemon's mirror to hold
    /// every write acknowledged by any daemon (``ConversationService/synchronize()``).
    private static func readingThroughBarrier(_ methods: [String: RPCMethod], service: ConversationService) -> [String: RPCMethod] {
        methods.reduce(into: [:]) { table, entry in
            table[entry.key] = methodsWithoutBarrier.contains(entry.key) ? entry.value : entry.value.preceded { try await service.synchronize() }
        }
    }

    /// Maps the service's errors to JSON-RPC errors.
    @Sendable public static func mapError(_ error: any Error) -> RPCError {
        guard let error = error as? ConvLogError else { return .internalError }
        var data: [String: JSONValue] = [:]
        if let field = error.field { data["field"] = .string(field) }
        let code: Int
        switch error.code {
        case .invalidParams: code = RPCError.invalidParamsCode
        case .sessionNotFound: code = RPCError.sessionNotFoundCode
        case .sessionExists: code = RPCError.sessionExistsCode
        case .versionConflict:
            code = RPCError.versionConflictCode
            if let expected = error.expectedVersion { data["expected"] = .integer(Int64(expected)) }
            if let actual = error.actualVersion { data["actual"] = .integer(Int64(actual)) }
        case .payloadTooLarge: code = RPCError.payloadTooLargeCode
        case .shuttingDown: code = RPCError.shuttingDownCode
        case .storageFull: code = RPCError.storageFullCode
        case .storeUnavailable: code = RPCError.storeUnavailableCode
        case .threadDeleted: code = RPCError.threadDeletedCode
        case .messageConflict: code = RPCError.messageConflictCode
        default: code = RPCError.internalErrorCode
        }
        return RPCError(code: code, message: error.message, data: data.isEmpty ? nil : .object(data))
    }

    /// `add`'s parameters.
    private static func addRequest(_ raw: JSONValue?) throws -> AddMessageRequest {
        let params = try Params(raw)
        try params.rejectUnknown(["sessionId", "role", "content", "metadata", "messageId", "expectedVersion", "createIfMissing"])
        guard let role = try params.optionalChoice("role", as: MessageRole.self) else {
            throw RPCError.invalidParams(field: "role", "is required")
        }
        return AddMessageRequest(
            sessionID: try params.string("sessionId"),
            role: role,
            content: try content(params),
            metadata: try params.optionalObject("metadata") ?? [:],
            messageID: try params.optionalString("messageId"),
            expectedVersion: try params.optionalInteger("expectedVersion").map(UInt64.init),
            createIfMissing: try params.optionalBool("createIfMissing") ?? false
        )
    }

    // MARK: JSON forms

    private static func content(_ params: Params) throws -> MessageContent {
        switch params["content"] {
        case nil: throw RPCError.invalidParams(field: "content", "is required")
        case .string(let text)?: return .text(text)
        case .object(let object)?: return .json(.object(object))
        case .array(let array)?: return .json(.array(array))
        default: throw RPCError.invalidParams(field: "content", "must be a string, an object or an array")
        }
    }

    /// A session's JSON form.
    public static func json(_ state: SessionState) -> JSONValue {
        var object: [String: JSONValue] = [
            "sessionId": .string(state.sessionID),
            "createdAt": .string(Timestamp.iso8601(milliseconds: state.createdAt)),
            "lastUpdated": .string(Timestamp.iso8601(milliseconds: state.lastUpdated)),
            "metadata": .object(state.metadata),
            "messageCount": .integer(Int64(state.messageCount)),
            "version": .integer(Int64(state.version)),
            "context": .object(state.context),
        ]
        if let userID = state.userID { object["userId"] = .string(userID) }
        return .object(object)
    }

    /// `analyzeFollowUp`'s JSON form.
    public static func json(_ result: FollowUpResult) -> JSONValue {
        let analysis = result.analysis
        var object: [String: JSONValue] = [
            "isFollowUp": .bool(analysis.isFollowUp),
            "confidence": .double(analysis.confidence),
            "reasons": .array(analysis.reasons.map(JSONValue.string)),
            "standaloneQuery": .string(analysis.standaloneQuery),
            "method": .string(analysis.method.rawValue),
            "contextMessages": .array(result.contextMessages.map(json)),
            "previousTopic": .null,
        ]
        if let topic = analysis.previousTopic {
            var topicObject = ConversationService.json(topic).objectValue ?? [:]
            if result.contextMessages.indices.contains(topic.sourceTurn) {
                topicObject["sourceMessageId"] = .string(result.contextMessages[topic.sourceTurn].message.messageID)
            }
            object["previousTopic"] = .object(topicObject)
        }
        return .object(object)
    }

    /// A message's JSON form.
    /// `getContext`'s answer, `{context, messages, sessionId, version}`, written directly in
    /// canonical form, each message as the `json(_:)` of its ``WindowMessage``: the most
    /// frequent read builds no ``JSONValue`` tree.
    public static func canonicalJSON(_ context: SessionContext) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + context.messages.count * 320)
        bytes.append(contentsOf: #"{"context":"#.utf8)
        JSONValue.object(context.context).appendCanonical(to: &bytes)
        bytes.append(contentsOf: #","messages":["#.utf8)
        for (index, entry) in context.messages.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            // The members in canonical (sorted) order.
            bytes.append(contentsOf: #"{"content":"#.utf8)
            entry.message.content.jsonValue.appendCanonical(to: &bytes)
            bytes.append(contentsOf: #","messageId":"#.utf8)
            JSONValue.appendQuoted(entry.message.messageID, to: &bytes)
            bytes.append(contentsOf: #","metadata":"#.utf8)
            JSONValue.object(entry.message.metadata).appendCanonical(to: &bytes)
            bytes.append(contentsOf: #","role":"#.utf8)
            JSONValue.appendQuoted(entry.message.role.rawValue, to: &bytes)
            bytes.append(contentsOf: #","sequence":"#.utf8)
            JSONValue.appendInteger(Int64(entry.sequence), to: &bytes)
            bytes.append(contentsOf: #","timestamp":"#.utf8)
            JSONValue.appendQuoted(Timestamp.iso8601(milliseconds: entry.timestamp), to: &bytes)
            bytes.append(contentsOf: #","version":"#.utf8)
            JSONValue.appendInteger(Int64(entry.sessionVersion), to: &bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(contentsOf: #"],"sessionId":"#.utf8)
        JSONValue.appendQuoted(context.sessionID, to: &bytes)
        bytes.append(contentsOf: #","version":"#.utf8)
        JSONValue.appendInteger(Int64(context.version), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// A window message's JSON form (`Message` in `schema/openrpc.json`).
    public static func json(_ entry: WindowMessage) -> JSONValue {
        [
            "messageId": .string(entry.message.messageID),
            "role": .string(entry.message.role.rawValue),
            "content": entry.message.content.jsonValue,
            "metadata": .object(entry.message.metadata),
            "sequence": .integer(Int64(entry.sequence)),
            "version": .integer(Int64(entry.sessionVersion)),
            "timestamp": .string(Timestamp.iso8601(milliseconds: entry.timestamp)),
        ]
    }
}

/// convlog's version, reported by `health` and `--version`.
public enum ConvLogVersion {
    public static let current = "0.3.0"
}
