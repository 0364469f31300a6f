import EventLog
import FollowUp
import Projections

/// How `analyzeFollowUp` writes the standalone question.
public enum RewriteMode: String, Sendable, CaseIterable {
    /// The built-in rules only.
    case rules
    /// The language model; the rules when it fails or is not configured (the reasons say which).
    case llm
    /// The language model when configured and the query is a follow-up, else the rules.
    case auto
}

/// `analyzeFollowUp`'s result.
public struct FollowUpResult: Sendable {
    public var analysis: FollowUpAnalysis
    /// The messages the analysis looked at, oldest first.
    public var contextMessages: [WindowMessage]
}

extension ConversationService {
    /// Analyzes `query` against the session's last `window` messages and context.
    /// - Throws: ``ConvLogError`` `invalidParams`, `payloadTooLarge`, `sessionNotFound`.
    public func analyzeFollowUp(sessionID: String, query: String, window: Int, mode: RewriteMode) async throws -> FollowUpResult {
        guard !query.isEmpty else { throw ConvLogError.invalid("query", "must not be empty") }
        guard query.utf8.count <= limits.maxQueryBytes else { throw ConvLogError.tooLarge("query", limit: limits.maxQueryBytes) }
        guard window >= 0 else { throw ConvLogError.invalid("window", "must be 0 or more") }
        let snapshot = try context(of: sessionID, window: window)
        let history = snapshot.messages.map(Self.turn)
        var analysis = followUp.analyzer.analyze(query: query, history: history)
        let wantsModel = mode == .llm || (mode == .auto && analysis.isFollowUp)
        if wantsModel {
            if let rewriter = followUp.rewriter {
                do {
                    let rewritten = try await rewriter.rewrite(
                        query: query,
                        history: history,
                        context: snapshot.context.mapValues { $0.stringValue ?? $0.canonicalString },
                        previousTopic: analysis.previousTopic
                    )
                    analysis.standaloneQuery = rewritten
                    analysis.method = .llm
                } catch {
                    analysis.reasons.append("llm:fallback:\(error)")
                }
            } else {
                analysis.reasons.append("llm:fallback:not-configured")
            }
        }
        return FollowUpResult(analysis: analysis, contextMessages: snapshot.messages)
    }

    /// The analyzer's topic change for a user message about to be added, given the session's state
    /// and recent messages: the `ContextUpdated` event to append with it, or nil when the topic did
    /// not change.
    func topicUpdate(for message: MessageAdded, state: SessionState, recent: [WindowMessage]) -> Event? {
        guard case .text(let text) = message.content else { return nil }
        let analysis = followUp.analyzer.analyze(query: text, history: recent.map(Self.turn))
        guard let topic = followUp.analyzer.topic(of: analysis.standaloneQuery) else { return nil }
        let value = Self.json(topic)
        guard value != state.lastTopic else { return nil }
        return .contextUpdated(ContextUpdated(changes: [SessionState.topicKey: value], source: .analyzer))
    }

    /// Whether the topic tracker looks at this message: a user's, in text.
    static func isUserText(_ message: MessageAdded) -> Bool {
        guard message.role == .user, case .text = message.content else { return false }
        return true
    }

    /// The JSON form of a topic (as stored in the session context under `topic`).
    public static func json(_ topic: Topic) -> JSONValue {
        var object: [String: JSONValue] = ["filters": .array(topic.filters.map(JSONValue.string))]
        if let entity = topic.entity { object["entity"] = .string(entity) }
        if let metric = topic.metric { object["metric"] = .string(metric) }
        if let time = topic.timeRange { object["timeRange"] = .string(time) }
        return .object(object)
    }

    static func turn(_ entry: WindowMessage) -> ConversationTurn {
        let speaker: ConversationTurn.Speaker
        switch entry.message.role {
        case .user: speaker = .user
        case .assistant: speaker = .assistant
        case .system, .tool: speaker = .other
        }
        let text: String
        switch entry.message.content {
        case .text(let body): text = body
        case .json(let value): text = value.stringValue ?? value.canonicalString
        }
        return ConversationTurn(speaker: speaker, text: text)
    }
}

/// The follow-up analysis the service uses.
public struct FollowUpSettings: Sendable {
    public var analyzer = FollowUpAnalyzer()
    /// The optional language-model rewriter.
    public var rewriter: (any StandaloneQueryRewriter)?
    /// Messages the topic tracker looks back at when a user message is added.
    public var trackingWindow = 6

    public init(rewriter: (any StandaloneQueryRewriter)? = nil) { self.rewriter = rewriter }
}
