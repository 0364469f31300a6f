/// Rewrites a follow-up so it stands alone: resolves pointers to the previous topic and completes
/// fragments from the previous question's frame. When unsure it leaves the query as it is.
enum StandaloneRewriter {
    struct Rewrite {
        var text: String
        var reason: String
    }

    static func rewrite(
        query: String,
        tokens: [Token],
        cues: Cues,
        history: [ConversationTurn],
        turns: [[Token]],
        topic: Topic?
    ) -> Rewrite {
        let previous = previousQuestion(history: history, turns: turns)
        if cues.has("ellipsis") || cues.has("fragment"), !cues.has("pronoun"), let previous {
            let fragment = fragmentBody(tokens, cues: cues)
            let asked = history.last(where: { $0.speaker == .user })?.text.reversed().first(where: { !$0.isWhitespace }) == "?"
            if !fragment.isEmpty, let completed = complete(fragment: fragment, in: previous, question: asked) {
                return Rewrite(text: completed, reason: "rewrite:fragment-completed")
            }
        }
        var words = tokens.map(\.text)
        var changed = false
        let person = FollowUpAnalyzer.salientEntity(history: history, turns: turns)
        let thing = topic?.entity ?? person
        // Replace from the end, so earlier indexes stay valid.
        let pointers = cues.positive.compactMap { cue -> (Int, String)? in
            guard let position = cue.position else { return nil }
            for family in ["pronoun", "demonstrative", "pointer", "definite"] where cue.reason.hasPrefix(family + ":") { return (position, family) }
            return nil
        }.sorted { $0.0 > $1.0 }
        for (position, family) in pointers {
            let word = tokens[position].lower
            switch family {
            case "pronoun":
                let isPersonal = ["he", "him", "his", "himself", "she", "her", "hers", "herself"].contains(word)
                guard let entity = isPersonal ? (person ?? thing) : (thing ?? person) else { continue }
                let possessive = ["its", "their", "his", "theirs", "hers"].contains(word)
                    || (word == "her" && position + 1 < tokens.count && TopicExtractor.isContent(tokens[position + 1]))
                words[position] = possessive ? entity + "'s" : entity
                changed = true
            case "demonstrative":
                if position + 1 < tokens.count, TopicExtractor.isContent(tokens[position + 1]), !Lexicon.particles.contains(tokens[position + 1].lower) {
                    // "those artists" → "the artists that start with A-E" when the noun was in the previous question.
                    let noun = tokens[position + 1].lower
                    if let previous, let clause = relativeClause(after: noun, in: previous) {
                        words[position] = "the"
                        words[position + 1] = tokens[position + 1].text + " " + clause
                        changed = true
                    } else if let entity = thing, !entity.lowercased().contains(noun) {
                        words[position] = "the"
                        words[position + 1] = tokens[position + 1].text + " of " + entity
                        changed = true
                    } else {
                        words[position] = "the"
                        changed = true
                    }
                } else if let entity = thing {
                    // "break that down" → "break the click rate down"; a name stands without an article.
                    words[position] = entity.first?.isUppercase == true ? entity : "the " + entity
                    changed = true
                }
            case "definite":
                // "the scandal" → "the BALCO scandal": the noun with the modifiers it had before.
                if position + 1 < tokens.count, let modifiers = modifiers(of: tokens[position + 1].lower, in: turns.suffix(3).reversed()) {
                    words[position + 1] = modifiers + " " + words[position + 1]
                    changed = true
                }
            default:
                if word == "there", let place = topic?.filters.last {
                    words[position] = place
                    changed = true
                }
            }
        }
        if !changed, cues.has("continuation") || cues.has("substitute") || cues.has("ordinal") || cues.has("reply-to-question"),
            let entity = thing
        {
            words.append("about")
            words.append(entity)
            changed = true
        }
        guard changed else { return Rewrite(text: query, reason: "rewrite:unchanged-unsure") }
        return Rewrite(text: join(words, question: query.hasSuffix("?")), reason: "rewrite:pointers-resolved")
    }

    /// The words that modified `noun` where a recent turn mentioned it ("BALCO" for "scandal").
    static func modifiers(of noun: String, in turns: some Sequence<[Token]>) -> String? {
        for tokens in turns {
            guard let position = tokens.firstIndex(where: { CueDetector.stem($0.lower) == CueDetector.stem(noun) }), position > 0 else { continue }
            var start = position
            while start > 0, TopicExtractor.isContent(tokens[start - 1]) || tokens[start - 1].isNumber, !tokens[start - 1].endsClause { start -= 1 }
            if start < position { return tokens[start..<position].map(\.text).joined(separator: " ") }
        }
        return nil
    }

    /// The last user turn, else the last turn.
    static func previousQuestion(history: [ConversationTurn], turns: [[Token]]) -> [Token]? {
        if let index = history.indices.last(where: { history[$0].speaker == .user && !turns[$0].isEmpty }) { return turns[index] }
        return turns.last(where: { !$0.isEmpty })
    }

    /// The fragment without its opener ("what about in the US" → "in the US").
    static func fragmentBody(_ tokens: [Token], cues: Cues) -> [Token] {
        guard let cue = cues.positive.first(where: { $0.reason.hasPrefix("ellipsis:") }) else {
            return tokens.first.map { ["and", "or", "but", "so"].contains($0.lower) } == true ? Array(tokens.dropFirst()) : tokens
        }
        let opener = cue.reason.dropFirst("ellipsis:".count).split(separator: "-").count
        return Array(tokens.dropFirst(opener))
    }

    /// The previous question with the fragment put in the place of what it replaces.
    static func complete(fragment: [Token], in previous: [Token], question isQuestion: Bool) -> String? {
        let prev = previous.map(\.lower)
        var words = previous.map(\.text)
        // 0. A wh-phrase replaces the previous question's ("which party" after "which incumbent has …").
        if let first = fragment.first, Lexicon.whWords.contains(first.lower), let previousFirst = previous.first,
            Lexicon.whWords.contains(previousFirst.lower)
        {
            var end = 1
            while end < previous.count, TopicExtractor.isContent(previous[end]), !previous[end - 1].endsClause { end += 1 }
            words.replaceSubrange(0..<end, with: fragment.map(\.text))
            return join(words, question: isQuestion)
        }
        // 1. A prepositional phrase replaces the one with the same preposition.
        if let first = fragment.first, Lexicon.prepositions.contains(first.lower), let start = prev.firstIndex(of: first.lower) {
            let end = TopicExtractor.phraseEnd(previous, from: start + 1)
            words.replaceSubrange(start..<end, with: fragment.map(\.text))
            return join(words, question: isQuestion)
        }
        // 2. A time expression replaces the previous one.
        if let time = TopicExtractor.timeRange(fragment), let oldTime = TopicExtractor.timeRange(previous),
            let range = span(of: oldTime, in: previous)
        {
            words.replaceSubrange(range, with: time.split(separator: " ").map(String.init))
            return join(words, question: isQuestion)
        }
        // 3. Same head noun: the fragment's modifiers replace the previous ones ("12 points" → "more than 50 points").
        if let head = fragment.last(where: { TopicExtractor.isContent($0) }), let position = prev.lastIndex(of: head.lower) {
            var start = position
            while start > 0, isModifier(previous[start - 1]) { start -= 1 }
            words.replaceSubrange(start...position, with: fragment.map(\.text))
            return join(words, question: isQuestion)
        }
        // 4. A name replaces the last name ("and for France?" after "… in Spain last month?"). In a
        // fragment a capitalized word is a name even where it opens the fragment.
        let fragmentNames = TopicExtractor.properNouns(fragment).isEmpty
            ? fragment.filter { $0.isCapitalized && !Lexicon.function.contains($0.lower) }.map(\.text)
            : TopicExtractor.properNouns(fragment)
        if let name = fragmentNames.last, let oldName = TopicExtractor.properNouns(previous).last, let range = span(of: oldName, in: previous) {
            words.replaceSubrange(range, with: [name])
            return join(words, question: isQuestion)
        }
        // 5. A number replaces the last number.
        if let number = fragment.first(where: \.isNumber), let position = prev.lastIndex(where: { $0.first?.isNumber == true }) {
            words[position] = number.text
            return join(words, question: isQuestion)
        }
        // 6. A measure replaces the previous one ("and for revenue?" after "What was the click rate …?").
        let determiners: Set<String> = ["the", "a", "an"]
        let measure = fragment.drop { determiners.contains($0.lower) }
        if !measure.isEmpty, fragmentNames.isEmpty, TopicExtractor.timeRange(fragment) == nil, !fragment.contains(where: \.isNumber),
            measure.allSatisfy({ TopicExtractor.isContent($0) }),
            let oldMetric = TopicExtractor.metric(previous), let range = span(of: oldMetric, in: previous)
        {
            words.replaceSubrange(range, with: measure.map(\.text))
            return join(words, question: isQuestion)
        }
        // 7. Otherwise the fragment is added to the previous question.
        words += fragment.map(\.text)
        return join(words, question: isQuestion)
    }

    static func isModifier(_ token: Token) -> Bool {
        token.isNumber || ["more", "less", "fewer", "than", "at", "least", "most", "over", "under", "above", "below", "top", "bottom"].contains(token.lower)
    }

    /// The words after `noun` in the previous question, as a relative clause ("start with A-E").
    static func relativeClause(after noun: String, in previous: [Token]) -> String? {
        let lower = previous.map(\.lower)
        let stem = noun.hasSuffix("s") ? String(noun.dropLast()) : noun
        guard let position = lower.firstIndex(where: { $0 == noun || $0 == stem || $0 == stem + "s" }) else { return nil }
        let rest = previous[(position + 1)...].prefix { !$0.endsClause }.map(\.text)
            + (previous[(position + 1)...].first(where: \.endsClause).map { [$0.text] } ?? [])
        guard !rest.isEmpty else { return nil }
        let first = rest[0].lowercased()
        if Lexicon.prepositions.contains(first) || ["that", "which", "who", "whose", "where"].contains(first) { return rest.joined(separator: " ") }
        if Lexicon.auxiliaries.contains(first) { return nil }
        return "that " + rest.joined(separator: " ")
    }

    /// The token range of `phrase` (space-separated words) in `tokens`.
    static func span(of phrase: String, in tokens: [Token]) -> ClosedRange<Int>? {
        let words = phrase.lowercased().split(separator: " ").map(String.init)
        let lower = tokens.map(\.lower)
        guard !words.isEmpty, words.count <= lower.count else { return nil }
        for start in stride(from: lower.count - words.count, through: 0, by: -1) where Array(lower[start..<(start + words.count)]) == words {
            return start...(start + words.count - 1)
        }
        return nil
    }

    /// Words back into a sentence: possessive `'s` glued on, a question mark when the query had one.
    static func join(_ words: [String], question: Bool) -> String {
        var text = ""
        for word in words {
            if word == "'s" {
                text += "'s"
            } else {
                text += text.isEmpty ? word : " " + word
            }
        }
        return question ? text + "?" : text
    }
}
