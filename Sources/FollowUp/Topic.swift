/// What a turn was about: the structured "previous topic" of a follow-up.
public struct Topic: Sendable, Hashable {
    /// The main entity or subject ("artists", "Ching Shih", "the click rate").
    public var entity: String?
    /// A measure asked about ("click rate", "revenue", "how many").
    public var metric: String?
    /// Filters and dimensions ("in Spain", "ES market", "start with A-E").
    public var filters: [String]
    /// A time expression ("last month", "in 2019", "Q3").
    public var timeRange: String?
    /// The index, in the history given, of the turn the topic comes from.
    public var sourceTurn: Int

    public init(entity: String? = nil, metric: String? = nil, filters: [String] = [], timeRange: String? = nil, sourceTurn: Int) {
        self.entity = entity
        self.metric = metric
        self.filters = filters
        self.timeRange = timeRange
        self.sourceTurn = sourceTurn
    }
}

/// Extracts topics from turns: named entities, noun phrases, metrics, filters, time ranges.
enum TopicExtractor {
    /// Runs of capitalized words that are not sentence openers ("Ching Shih", "Camp Nowhere").
    static func properNouns(_ tokens: [Token]) -> [String] {
        var phrases: [String] = []
        var run: [String] = []
        for (index, token) in tokens.enumerated() {
            let atClauseStart = index == 0 || tokens[index - 1].endsClause
            let nextIsCapitalized = index + 1 < tokens.count && tokens[index + 1].isCapitalized && !token.endsClause
            // A capitalized word opening a clause is a name only when another capitalized word follows.
            let isName = token.isCapitalized && token.lower != "i"
                && !(atClauseStart && (!nextIsCapitalized || Lexicon.functionOrOpener.contains(token.lower)))
                && !(Lexicon.function.contains(token.lower) && run.isEmpty)
            let joinsName = !run.isEmpty && (token.lower == "of" || token.lower == "de") && index + 1 < tokens.count && tokens[index + 1].isCapitalized
            if isName || joinsName || (token.isNumber && !run.isEmpty) {
                run.append(token.text)
            } else {
                if !run.isEmpty { phrases.append(run.joined(separator: " ")) }
                run.removeAll()
            }
            if token.endsClause, !run.isEmpty {
                phrases.append(run.joined(separator: " "))
                run.removeAll()
            }
        }
        if !run.isEmpty { phrases.append(run.joined(separator: " ")) }
        return phrases
    }

    /// The maximal runs of content words (no function words), in order. A run right after a
    /// subject pronoun is a verb ("he was born", "you elaborate") and is left out.
    static func contentPhrases(_ tokens: [Token]) -> [[Token]] {
        var phrases: [[Token]] = []
        var run: [Token] = []
        for (index, token) in tokens.enumerated() {
            let afterSubject = index > 0 && ["i", "you", "we", "he", "she", "they", "it"].contains(tokens[index - 1].lower)
            let afterAuxiliaryAndSubject = index > 1 && Lexicon.auxiliaries.contains(tokens[index - 1].lower) && Lexicon.personalPronouns.contains(tokens[index - 2].lower)
            if run.isEmpty, afterSubject || afterAuxiliaryAndSubject {
                continue
            }
            if isContent(token) {
                run.append(token)
            } else {
                if !run.isEmpty { phrases.append(run) }
                run.removeAll()
            }
            if token.endsClause, !run.isEmpty {
                phrases.append(run)
                run.removeAll()
            }
        }
        if !run.isEmpty { phrases.append(run) }
        return phrases
    }

    static func isContent(_ token: Token) -> Bool {
        !Lexicon.function.contains(token.lower) && !token.isNumber && token.lower.count > 1
    }

    /// The time expression of a turn ("last month", "in 2019", "Q3").
    static func timeRange(_ tokens: [Token]) -> String? {
        for (index, token) in tokens.enumerated() {
            if Lexicon.timeUnits.contains(token.lower) {
                if index > 0, Lexicon.timeModifiers.contains(tokens[index - 1].lower) {
                    return "\(tokens[index - 1].text) \(token.text)"
                }
                return token.text
            }
            if token.isNumber, token.lower.count == 4, let year = Int(token.lower), (1900...2100).contains(year) {
                if index > 0, ["in", "since", "during", "for", "before", "after"].contains(tokens[index - 1].lower) {
                    return "\(tokens[index - 1].text) \(token.text)"
                }
                return token.text
            }
        }
        return nil
    }

    /// The measure asked about: "how many" or a metric noun with its modifier ("click rate").
    static func metric(_ tokens: [Token]) -> String? {
        for (index, token) in tokens.enumerated() {
            if token.lower == "how", index + 1 < tokens.count, ["many", "much"].contains(tokens[index + 1].lower) {
                return "how \(tokens[index + 1].lower)"
            }
            if Lexicon.metricHeads.contains(token.lower) {
                if index > 0, isContent(tokens[index - 1]), !Lexicon.timeUnits.contains(tokens[index - 1].lower) {
                    return "\(tokens[index - 1].lower) \(token.lower)"
                }
                return token.lower
            }
        }
        return nil
    }

    /// Prepositional filters ("in Spain", "for the ES market", "with A-E").
    static func filters(_ tokens: [Token]) -> [String] {
        var filters: [String] = []
        var index = 0
        while index < tokens.count {
            if ["in", "for", "from", "with", "by", "at", "on"].contains(tokens[index].lower), index + 1 < tokens.count {
                let end = phraseEnd(tokens, from: index + 1)
                let phrase = Array(tokens[index..<end])
                if phrase.dropFirst().contains(where: { isContent($0) || $0.isNumber }), timeRange(phrase) == nil {
                    filters.append(phrase.map(\.text).joined(separator: " "))
                }
                index = max(end, index + 1)
            } else {
                index += 1
            }
        }
        return filters
    }

    /// Where a phrase that starts at `start` ends: before the next preposition, conjunction or
    /// time expression, or at the end of its clause.
    static func phraseEnd(_ tokens: [Token], from start: Int) -> Int {
        var end = start
        while end < tokens.count {
            if end > start, Lexicon.prepositions.contains(tokens[end].lower) || Lexicon.conjunctions.contains(tokens[end].lower) { break }
            // A time expression is a phrase of its own ("in Spain last month").
            if end > start, Lexicon.timeModifiers.contains(tokens[end].lower), end + 1 < tokens.count, Lexicon.timeUnits.contains(tokens[end + 1].lower) {
                break
            }
            end += 1
            if tokens[end - 1].endsClause { break }
        }
        return end
    }

    /// The topic of one turn; nil when it names nothing (only pronouns and function words).
    ///
    /// The entity is a name that is not a filter value ("Ching Shih", not "A-E" in "start with
    /// A-E"), else the noun counted by "how many", else a noun phrase after a determiner, else the
    /// last content phrase.
    static func topic(of tokens: [Token], turn: Int) -> Topic? {
        let filters = filters(tokens)
        let filterWords = Set(filters.flatMap { $0.split(separator: " ").dropFirst().map { $0.lowercased() } })
        let names = properNouns(tokens).filter { !$0.split(separator: " ").allSatisfy { filterWords.contains($0.lowercased()) } }
        let phrases = contentPhrases(tokens).filter { phrase in
            !phrase.allSatisfy { Lexicon.timeUnits.contains($0.lower) || filterWords.contains($0.lower) }
        }
        var entity = names.last
        if entity == nil, let counted = tokens.indices.first(where: { index in
            index >= 2 && tokens[index - 2].lower == "how" && ["many", "much"].contains(tokens[index - 1].lower) && isContent(tokens[index])
        }) {
            entity = tokens[counted].text
        }
        if entity == nil {
            let determined = phrases.first { phrase in
                guard let first = phrase.first, let index = tokens.firstIndex(of: first), index > 0 else { return false }
                return ["the", "a", "an", "this", "that", "these", "those", "my", "your", "our", "its", "their"].contains(tokens[index - 1].lower)
            }
            entity = (determined ?? phrases.last).map { $0.map(\.text).joined(separator: " ") }
        }
        let topic = Topic(entity: entity, metric: metric(tokens), filters: filters, timeRange: timeRange(tokens), sourceTurn: turn)
        return topic.entity == nil && topic.metric == nil && topic.timeRange == nil ? nil : topic
    }
}
