import EventLog
import FollowUp
import Projections
import JSON

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
    /// Analyzes `query` against the session's last `window` messages before it, and its context.
    ///
    /// When the session's newest message is this very question from the user — the orchestrator
    /// stored it before asking, as a LangGraph thread does before its nodes run — it is the
    /// question, not an earlier turn: the window is the `window` messages before it.
    /// - Throws: ``ConvLogError`` `invalidParams`, `payloadTooLarge`, `sessionNotFound`.
    public func analyzeFollowUp(sessionID: String, query: String, window: Int, mode: RewriteMode) async throws -> FollowUpResult {
        guard !query.isEmpty else { throw ConvLogError.invalid("query", "must not be empty") }
        guard query.utf8.count <= limits.maxQueryBytes else { throw ConvLogError.tooLarge("query", limit: limits.maxQueryBytes) }
        guard window >= 0 else { throw ConvLogError.invalid("window", "must be 0 or more") }
        var snapshot = try context(of: sessionID, window: window + 1)
        if let newest = snapshot.messages.last.map(Self.turn), newest.speaker == .user, newest.text == query {
            snapshot.messages.removeLast()
        }
        snapshot.messages = Array(snapshot.messages.suffix(window))
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

    /// The session's current topic, computed when asked (never on the append path): the topic of
    /// its most recent user question that has one, analyzed against the turns before it; nil
    /// when none of its last ``FollowUpSettings/trackingWindow`` user questions has a topic.
    /// - Throws: ``ConvLogError`` `sessionNotFound`.
    public func currentTopic(of sessionID: String) throws -> Topic? {
        let recent = try context(of: sessionID, window: 2 * followUp.trackingWindow).messages.map(Self.turn)
        for index in recent.indices.reversed() where recent[index].speaker == .user {
            let history = Array(recent[max(0, index - followUp.trackingWindow)..<index])
            let analysis = followUp.analyzer.analyze(query: recent[index].text, history: history)
            if let topic = followUp.analyzer.topic(of: analysis.standaloneQuery) { return topic }
        }
        return nil
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
    /// Messages of history a question is analyzed against when ``ConversationService/currentTopic(of:)``
    /// looks for the session's topic.
    public var trackingWindow = 6

    public init(rewriter: (any StandaloneQueryRewriter)? = nil) { self.rewriter = rewriter }
}
