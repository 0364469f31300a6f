/// A piece of evidence about a query.
struct Cue: Sendable, Hashable {
    /// Machine-readable: `family:detail`.
    let reason: String
    /// How strongly it speaks (0–1).
    let weight: Double
    /// Where in the query it fired (token index), when it points at words.
    let position: Int?
}

/// The cues found in a query: for a follow-up and for a standalone question.
struct Cues: Sendable {
    var positive: [Cue] = []
    var negative: [Cue] = []

    func has(_ family: String) -> Bool { positive.contains { $0.reason.hasPrefix(family + ":") || $0.reason == family } }
}

/// Finds the linguistic cues of a follow-up, word by word (never inside words).
enum CueDetector {
    static func detect(_ tokens: [Token], history: [ConversationTurn], turns: [[Token]]) -> Cues {
        var cues = Cues()
        let lower = tokens.map(\.lower)
        let names = TopicExtractor.properNouns(tokens)

        // Thanks and acknowledgements ask nothing.
        let isThanks = ["thanks", "thank"].contains(lower.first(where: { !Lexicon.discourseMarkers.contains($0) || $0 == "thanks" }) ?? "")
            && !tokens.contains { $0.text.hasSuffix("?") } && !lower.contains(where: Lexicon.whWords.contains)
        if !lower.isEmpty, lower.allSatisfy(Lexicon.pleasantries.contains) || isThanks {
            cues.negative.append(Cue(reason: "standalone:acknowledgement", weight: 0.95, position: nil))
            return cues
        }
        // Pronouns without an antecedent in the query itself.
        for (index, word) in lower.enumerated() where Lexicon.personalPronouns.contains(word) {
            if isExpletiveIt(lower, at: index) { continue }
            if hasAntecedent(tokens, before: index, pronoun: word) { continue }
            cues.positive.append(Cue(reason: "pronoun:\(word)", weight: 0.9, position: index))
        }
        // Demonstratives pointing back ("those artists", "that one", "how did that go"). "this" often
        // points at the present situation rather than the conversation, so it weighs less.
        for (index, word) in lower.enumerated() where Lexicon.demonstratives.contains(word) {
            if word == "that", !isPointingThat(tokens, at: index) { continue }
            let next = index + 1 < lower.count && !tokens[index].endsClause ? lower[index + 1] : ""
            if word == "this", Lexicon.timeUnits.contains(next) || ["time", "week", "moment"].contains(next) { continue }
            // "this" before a noun often points at the present situation ("this call"); alone it points back.
            let determinesNoun = !next.isEmpty && index + 1 < tokens.count && TopicExtractor.isContent(tokens[index + 1])
            cues.positive.append(Cue(reason: "demonstrative:\(word)", weight: word == "this" && determinesNoun ? 0.45 : 0.8, position: index))
        }
        // "there" and "then" as pointers (not "is there", "there are").
        for (index, word) in lower.enumerated() where word == "there" || word == "then" {
            let before = index > 0 ? lower[index - 1] : ""
            let after = index + 1 < lower.count ? lower[index + 1] : ""
            if word == "there" {
                if Lexicon.auxiliaries.contains(before) || Lexicon.auxiliaries.contains(after) || ["many", "much", "any"].contains(before) { continue }
            } else if index == 0 || ["and", "but", "if", "since", "until", "by", "from"].contains(before) || after.isEmpty == false && !tokens[index].endsClause {
                continue
            }
            cues.positive.append(Cue(reason: "pointer:\(word)", weight: 0.6, position: index))
        }
        // Elliptical openings: "what about …" at the start of any clause; a restricting opening
        // ("if …", "but …", "only …") when the whole query is one clause without a verb of its own.
        let starts = clauseStarts(tokens)
        for start in starts {
            let rest = Array(lower[start...])
            if let opener = Lexicon.ellipsisOpeners.first(where: { rest.starts(with: $0) }) {
                cues.positive.append(Cue(reason: "ellipsis:\(opener.joined(separator: "-"))", weight: 0.85, position: start))
                break
            }
        }
        if !cues.has("ellipsis"), starts.count == 1, let start = starts.first, lower.count - start <= 9,
            let opener = Lexicon.restrictingOpeners.first(where: { Array(lower[start...]).starts(with: $0) }),
            !lower[(start + opener.count)...].contains(where: { Lexicon.clauseOpeners.contains($0) && !Lexicon.prepositions.contains($0) })
        {
            cues.positive.append(Cue(reason: "ellipsis:\(opener.joined(separator: "-"))", weight: 0.85, position: start))
        }
        // "how many" / "how much" with the noun left out ("how many are damaged?", "how many in 2019?").
        for (index, word) in lower.enumerated() where word == "how" && index + 2 < lower.count + 1 {
            guard index + 1 < lower.count, ["many", "much"].contains(lower[index + 1]) else { continue }
            let next = index + 2 < lower.count ? lower[index + 2] : ""
            if next.isEmpty || tokens[index + 1].endsClause || Lexicon.auxiliaries.contains(next) || Lexicon.prepositions.contains(next) {
                if next == "of" { continue }
                cues.positive.append(Cue(reason: "ellipsis:how-\(lower[index + 1])", weight: 0.8, position: index))
                break
            }
        }
        // A bare fragment: short, with no verb or question frame of its own.
        if !cues.has("ellipsis"), isFragment(tokens) {
            cues.positive.append(Cue(reason: "fragment", weight: 0.75, position: 0))
        }
        // A wh-word with a noun and nothing else ("which party?", "what year?").
        if let first = lower.first, Lexicon.whWords.contains(first), lower.count == 2, TopicExtractor.isContent(tokens[1])
        {
            cues.positive.append(Cue(reason: "fragment:wh", weight: 0.75, position: 0))
        }
        // Continuation and comparison words.
        for (index, word) in lower.enumerated() where Lexicon.continuation.contains(word) {
            if word == "other", index > 0, ["each", "the"].contains(lower[index - 1]) { continue }
            cues.positive.append(Cue(reason: "continuation:\(word)", weight: 0.6, position: index))
            break
        }
        // Positions in a list given before ("the second one", "the first").
        for (index, word) in lower.enumerated() where Lexicon.ordinals.contains(word) {
            let next = index + 1 < lower.count ? lower[index + 1] : ""
            let previous = index > 0 ? lower[index - 1] : ""
            if previous == "the" && (next == "one" || next == "ones" || next.isEmpty || tokens[index].endsClause) {
                cues.positive.append(Cue(reason: "ordinal:\(word)", weight: 0.7, position: index))
                break
            }
        }
        // "one" / "ones" standing for a noun ("which one", "the cheaper ones", "the smallest one").
        for (index, word) in lower.enumerated() where word == "one" || word == "ones" {
            guard index > 0 else { continue }
            if index + 1 < lower.count, lower[index + 1] == "of" { continue }
            let previous = lower[index - 1]
            let afterThe = index >= 2 && lower[index - 2] == "the"
            if ["which", "the", "that", "this", "each", "other", "another", "these", "those"].contains(previous)
                || (afterThe && !Lexicon.function.contains(previous)) || word == "ones"
            {
                cues.positive.append(Cue(reason: "substitute:\(word)", weight: 0.6, position: index))
                break
            }
        }
        // A bare definite noun phrase whose noun the previous user turn mentioned ("the scandal" after
        // "the BALCO scandal"): not quantified ("all the teachers"), not restricted ("the name of …").
        if names.isEmpty, let previousUser = history.indices.last(where: { history[$0].speaker == .user }) {
            let mentioned = Set(turns[previousUser].filter(TopicExtractor.isContent).map { Self.stem($0.lower) })
            for (index, word) in lower.enumerated() where word == "the" && index + 1 < tokens.count {
                let noun = tokens[index + 1]
                guard TopicExtractor.isContent(noun), !noun.isCapitalized, mentioned.contains(Self.stem(noun.lower)) else { continue }
                let quantified = index > 0 && ["all", "each", "every", "of"].contains(lower[index - 1])
                let next = index + 2 < lower.count && !noun.endsClause ? lower[index + 2] : ""
                let restricted = Lexicon.prepositions.contains(next) || ["who", "which", "that", "whose", "where"].contains(next)
                    || (!next.isEmpty && TopicExtractor.isContent(tokens[index + 2]))
                if quantified || restricted { continue }
                cues.positive.append(Cue(reason: "definite:\(noun.lower)", weight: 0.65, position: index))
                break
            }
        }
        // A reply to a question the assistant just asked.
        if let last = history.last, last.speaker == .assistant, last.text.reversed().first(where: { !$0.isWhitespace }) == "?",
            tokens.count <= 6, lower.first.map({ Lexicon.replies.contains($0) || !Lexicon.clauseOpeners.contains($0) }) == true
        {
            cues.positive.append(Cue(reason: "reply-to-question", weight: 0.7, position: nil))
        }

        let opener = lower.first(where: { !Lexicon.discourseMarkers.contains($0) }) ?? ""
        // How much the query names by itself: content words, names, numbers, quantifiers.
        let specificity = specificity(tokens, names: names)
        // A question or fragment that names little relies on what was said before. (An imperative
        // with its object is complete: "decline the call".)
        let isImperative = Lexicon.clauseOpeners.contains(opener) && !Lexicon.whWords.contains(opener) && !Lexicon.auxiliaries.contains(opener)
            && !["i", "we", "you", "tell", "give", "show", "list", "describe", "explain"].contains(opener)
        if specificity <= 2, names.isEmpty, !isImperative, !isGeneric(tokens) {
            cues.positive.append(Cue(reason: "underspecified", weight: 0.55, position: nil))
        }

        // Evidence that the query stands alone.
        if !names.isEmpty {
            cues.negative.append(Cue(reason: "standalone:named-subject", weight: 0.35, position: nil))
        }
        if specificity >= 4, Lexicon.clauseOpeners.contains(opener) {
            cues.negative.append(Cue(reason: "standalone:complete-question", weight: specificity >= 5 ? 0.5 : 0.3, position: nil))
        }
        return cues
    }

    /// Content words, plus names and numbers counted double, plus quantifiers ("each", "all", "every", "distinct").
    static func specificity(_ tokens: [Token], names: [String]) -> Int {
        let content = tokens.filter(TopicExtractor.isContent).count
        let numbers = tokens.filter(\.isNumber).count
        let quantifiers = tokens.filter { ["each", "every", "all", "distinct", "different", "total", "average"].contains($0.lower) }.count
        return content + names.count + 2 * numbers + quantifiers
    }

    /// Whether the query speaks of kinds rather than of something said before: a bare plural
    /// ("which students have pets?"), a quantifier ("all the teachers"), or an existential
    /// ("how many players are there?").
    static func isGeneric(_ tokens: [Token]) -> Bool {
        let lower = tokens.map(\.lower)
        if lower.contains(where: { ["all", "every", "each", "any"].contains($0) }) { return true }
        if let there = lower.lastIndex(of: "there"), there > 0, Lexicon.auxiliaries.contains(lower[there - 1]) || (there > 1 && lower[there - 2] == "many") {
            return true
        }
        for (index, token) in tokens.enumerated() where TopicExtractor.isContent(token) && token.lower.hasSuffix("s") && !token.lower.hasSuffix("ss") {
            // Walk back over the noun's modifiers to its determiner, if any.
            var back = index - 1
            while back >= 0, TopicExtractor.isContent(tokens[back]) { back -= 1 }
            let determiner = back >= 0 ? lower[back] : ""
            if !["the", "these", "those", "their", "its", "his", "her", "our", "your", "my", "'s", "such"].contains(determiner) { return true }
        }
        return false
    }

    /// A crude singular form, so "scandals" meets "scandal".
    static func stem(_ word: String) -> String {
        if word.hasSuffix("ies"), word.count > 4 { return String(word.dropLast(3)) + "y" }
        if word.hasSuffix("s"), !word.hasSuffix("ss"), word.count > 3 { return String(word.dropLast()) }
        return word
    }

    /// Token indexes where a clause starts, after any discourse markers ("Ok, what about …").
    static func clauseStarts(_ tokens: [Token]) -> [Int] {
        var starts: [Int] = []
        var index = 0
        var atStart = true
        while index < tokens.count {
            if atStart {
                var start = index
                while start < tokens.count - 1, Lexicon.discourseMarkers.contains(tokens[start].lower), !["so", "now", "also"].contains(tokens[start].lower) || tokens[start].endsClause {
                    start += 1
                }
                starts.append(start)
                atStart = false
            }
            if tokens[index].endsClause { atStart = true }
            index += 1
        }
        return starts
    }

    /// "it" in weather, time and similar impersonal uses ("is it raining", "what time is it").
    static func isExpletiveIt(_ words: [String], at index: Int) -> Bool {
        guard words[index] == "it" else { return false }
        let next = index + 1 < words.count ? words[index + 1] : ""
        let afterNext = index + 2 < words.count ? words[index + 2] : ""
        let weather: Set<String> = ["raining", "rain", "snowing", "snow", "sunny", "cold", "hot", "warm", "windy", "cloudy", "late", "early"]
        if weather.contains(next) || weather.contains(afterNext) { return true }
        if index == words.count - 1, index >= 2, words[index - 2] == "time", Lexicon.auxiliaries.contains(words[index - 1]) { return true }
        // "is it possible to", "is it true that", "it takes to": the subject comes later.
        if ["possible", "true", "necessary", "safe", "normal", "better", "worth", "okay", "ok", "hard", "easy", "important", "common"].contains(next)
            || ["possible", "true", "necessary", "safe", "normal", "better", "worth", "okay", "ok", "hard", "easy", "important", "common"].contains(afterNext)
        {
            return words[(index + 1)...].contains("to") || words[(index + 1)...].contains("that") || words[(index + 1)...].contains("if")
        }
        if next == "takes" || (next == "take" && index > 0 && words[index - 1] == "does") { return words[(index + 1)...].contains("to") }
        return false
    }

    /// Whether a pronoun has an antecedent earlier in the query ("Where was Obama born and when did he …").
    static func hasAntecedent(_ tokens: [Token], before index: Int, pronoun: String) -> Bool {
        let earlier = Array(tokens[..<index])
        switch pronoun {
        case "he", "him", "his", "himself", "she", "her", "hers", "herself":
            return !TopicExtractor.properNouns(earlier).isEmpty
        case "they", "them", "their", "theirs", "themselves":
            // A plural noun or a list of names before it.
            let plural = earlier.contains { token in
                TopicExtractor.isContent(token) && token.lower.hasSuffix("s") && !token.lower.hasSuffix("ss") && !token.lower.hasSuffix("'s")
            }
            return plural || (TopicExtractor.properNouns(earlier).count >= 2)
        default:
            // it/its: a noun phrase with a determiner, or a name, before it.
            let determined = earlier.enumerated().contains { offset, token in
                TopicExtractor.isContent(token) && offset > 0 && ["the", "a", "an", "my", "your", "this"].contains(earlier[offset - 1].lower)
            }
            return determined || !TopicExtractor.properNouns(earlier).isEmpty
        }
    }

    /// "that" pointing back (a pronoun or determiner), not a conjunction or relative pronoun.
    static func isPointingThat(_ tokens: [Token], at index: Int) -> Bool {
        if index > 0, Lexicon.thatComplementVerbs.contains(tokens[index - 1].lower), !tokens[index - 1].endsClause { return false }
        let next = index + 1 < tokens.count ? tokens[index + 1].lower : ""
        // Followed by a subject pronoun or a name it opens a clause or presents someone ("a message that I …", "is that Opal").
        if ["i", "you", "he", "she", "we", "they", "it"].contains(next) || (index + 1 < tokens.count && tokens[index + 1].isCapitalized) {
            return false
        }
        // Followed by nothing, a preposition, a verb particle or "one": a pronoun ("change that to …",
        // "break that down by week", "not that one").
        if tokens[index].endsClause || next.isEmpty || Lexicon.prepositions.contains(next) || Lexicon.particles.contains(next) || next == "one" {
            return true
        }
        guard index > 0 else { return true }
        let previous = tokens[index - 1]
        if previous.endsClause || Lexicon.discourseMarkers.contains(previous.lower) { return true }
        let before = previous.lower
        if Lexicon.thatComplementVerbs.contains(before) { return false }
        // After a wh-word, auxiliary, preposition or verb: a pointer ("how did that", "about that").
        if Lexicon.whWords.contains(before) || Lexicon.auxiliaries.contains(before) || Lexicon.prepositions.contains(before)
            || Lexicon.clauseOpeners.contains(before) || ["and", "but", "or", "like"].contains(before)
        {
            return true
        }
        // After a content word it introduces a relative clause ("the teams that won").
        return false
    }

    /// A short query without a frame of its own: no wh-word, auxiliary or command verb, few words.
    static func isFragment(_ tokens: [Token]) -> Bool {
        let words = Array(tokens.map(\.lower).drop { Lexicon.discourseMarkers.contains($0) })
        guard !words.isEmpty, words.count <= 4 else { return false }
        if words.contains(where: { Lexicon.whWords.contains($0) || Lexicon.auxiliaries.contains($0) }) { return false }
        if Lexicon.clauseOpeners.contains(words[0]) { return false }
        return true
    }
}
