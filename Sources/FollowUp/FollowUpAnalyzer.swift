/// One turn of the conversation, as the analyzer sees it.
public struct ConversationTurn: Sendable, Hashable {
    public enum Speaker: String, Sendable, Hashable {
        case user, assistant, other
    }

    public var speaker: Speaker
    public var text: String

    public init(speaker: Speaker, text: String) {
        self.speaker = speaker
        self.text = text
    }
}

/// The verdict on a query.
public struct FollowUpAnalysis: Sendable, Hashable {
    /// How the standalone query was made.
    public enum Method: String, Sendable, Hashable {
        case rules, llm
    }

    public var isFollowUp: Bool
    /// 0–1.
    public var confidence: Double
    /// The cues that fired and the decisions taken, machine-readable (`pronoun:they`,
    /// `ellipsis:what-about`, `standalone:named-subject`, `rewrite:unchanged`, …).
    public var reasons: [String]
    /// What the conversation was about before the query, if anything.
    public var previousTopic: Topic?
    /// The query rewritten to stand on its own (the query itself when it already does).
    public var standaloneQuery: String
    public var method: Method
}

/// Decides whether a query depends on the conversation before it, finds what that was about,
/// and rewrites the query to stand alone, by general rules of English. Pure and deterministic.
///
/// ```swift
/// let analysis = FollowUpAnalyzer().analyze(
///     query: "Who are those artists?",
///     history: [.init(speaker: .user, text: "How many artists start with A-E?"),
///               .init(speaker: .assistant, text: "There are 86 artists.")])
/// analysis.standaloneQuery  // "Who are the artists that start with A-E?"
/// ```
public struct FollowUpAnalyzer: Sendable {
    public init() {}

    /// Analyzes `query` after `history` (oldest first).
    public func analyze(query: String, history: [ConversationTurn]) -> FollowUpAnalysis {
        let tokens = Tokenizer.tokenize(query)
        let turns = history.map { Tokenizer.tokenize($0.text) }
        let previousTopic = Self.previousTopic(history: history, turns: turns)
        guard !history.isEmpty else {
            return FollowUpAnalysis(
                isFollowUp: false, confidence: 0.95, reasons: ["standalone:no-history"], previousTopic: nil,
                standaloneQuery: query, method: .rules
            )
        }
        let cues = CueDetector.detect(tokens, history: history, turns: turns)
        var reasons = cues.positive.map(\.reason) + cues.negative.map(\.reason)
        let positive = 1 - cues.positive.reduce(1.0) { $0 * (1 - $1.weight) }
        let negative = 1 - cues.negative.reduce(1.0) { $0 * (1 - $1.weight) }
        // A strong cue (a pronoun, an elliptical opening) decides alone; weaker ones can be outweighed.
        let strongest = cues.positive.map(\.weight).max() ?? 0
        let score = strongest >= 0.8 && negative < 0.9 ? max(positive, 0.5) : positive * (1 - negative * 0.9)
        let isFollowUp = score >= 0.5
        let confidence = isFollowUp ? score : 1 - score
        var standalone = query
        if isFollowUp {
            let rewrite = StandaloneRewriter.rewrite(query: query, tokens: tokens, cues: cues, history: history, turns: turns, topic: previousTopic)
            standalone = rewrite.text
            reasons.append(rewrite.reason)
        }
        return FollowUpAnalysis(
            isFollowUp: isFollowUp,
            confidence: (confidence * 1000).rounded() / 1000,
            reasons: reasons,
            previousTopic: previousTopic,
            standaloneQuery: standalone,
            method: .rules
        )
    }

    /// The topic of the most recent user turn that names one, completed with the salient entity of
    /// the whole history when that turn only points back (pronouns).
    static func previousTopic(history: [ConversationTurn], turns: [[Token]]) -> Topic? {
        var topic: Topic?
        for index in history.indices.reversed() where history[index].speaker == .user {
            if let found = TopicExtractor.topic(of: turns[index], turn: index) {
                topic = found
                break
            }
        }
        if topic == nil, let last = history.indices.last, let found = TopicExtractor.topic(of: turns[last], turn: last) {
            topic = found
        }
        if var found = topic, let salient = salientEntity(history: history, turns: turns), found.entity == nil {
            found.entity = salient
            topic = found
        }
        return topic
    }

    /// The named entity mentioned most across the history (user turns count double), latest on ties.
    static func salientEntity(history: [ConversationTurn], turns: [[Token]]) -> String? {
        var scores: [String: (score: Int, last: Int)] = [:]
        for (index, tokens) in turns.enumerated() {
            for name in TopicExtractor.properNouns(tokens) {
                let weight = history[index].speaker == .user ? 2 : 1
                scores[name, default: (0, 0)].score += weight
                scores[name, default: (0, 0)].last = index
            }
        }
        // A longer name absorbs the mentions of its parts ("Joan Leslie" takes "Leslie").
        for name in scores.keys {
            for other in scores.keys where other != name && name.contains(other) {
                scores[name]!.score += scores[other]!.score
            }
        }
        return scores.max { lhs, rhs in
            lhs.value.score != rhs.value.score ? lhs.value.score < rhs.value.score : lhs.value.last < rhs.value.last
        }?.key
    }
}

extension FollowUpAnalyzer {
    /// The topic of one text on its own (entity, metric, filters, time), or nil when it names nothing.
    public func topic(of text: String) -> Topic? {
        TopicExtractor.topic(of: Tokenizer.tokenize(text), turn: 0)
    }
}

/// Writes a standalone question with a language model (or anything else), for `rewrite: llm`.
public protocol StandaloneQueryRewriter: Sendable {
    /// A single-line standalone question for `query`.
    /// - Parameters:
    ///   - history: the recent turns, oldest first.
    ///   - context: the session's context, flattened to text (previous topic, last SQL, …).
    /// - Throws: when no usable answer came; callers fall back to the rules.
    func rewrite(query: String, history: [ConversationTurn], context: [String: String], previousTopic: Topic?) async throws -> String
}
