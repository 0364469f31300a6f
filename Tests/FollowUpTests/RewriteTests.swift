import Testing

@testable import FollowUp

@Suite("Topics and rewrites")
struct RewriteTests {
    @Test("topic extraction finds entity, metric, filters and time")
    func topic() {
        let tokens = Tokenizer.tokenize("What was the click rate in the ES market last month?")
        let topic = TopicExtractor.topic(of: tokens, turn: 0)
        #expect(topic?.metric == "click rate")
        #expect(topic?.timeRange == "last month")
        #expect(topic?.filters.contains("in the ES market") == true)
        #expect(topic?.entity == "click rate")
        let named = TopicExtractor.topic(of: Tokenizer.tokenize("Tell me more about Ching Shih."), turn: 3)
        #expect(named?.entity == "Ching Shih")
        #expect(named?.sourceTurn == 3)
        #expect(TopicExtractor.topic(of: Tokenizer.tokenize("How many artists start with A-E in 2019?"), turn: 0)?.timeRange == "in 2019")
    }

    @Test("tokens are words, never substrings, and possessives split off")
    func tokenizer() {
        #expect(Tokenizer.tokenize("Ching Shih's code, with items!").map(\.lower) == ["ching", "shih", "'s", "code", "with", "items"])
        #expect(Tokenizer.tokenize("It rose 4.2% in Q3.").map(\.text) == ["It", "rose", "4.2%", "in", "Q3"])
    }

    static let cases: [(history: [String], query: String, standalone: String)] = [
        (["How many artists start with A-E?", "There are 86 artists whose names start with A to E."],
         "Who are those artists?", "Who are the artists that start with A-E?"),
        (["What was the click rate in Spain last month?", "4.2%"],
         "What about in the US?", "What was the click rate in the US last month?"),
        (["What was the click rate in Spain last month?", "4.2%"],
         "and last week?", "What was the click rate in Spain last week?"),
        // The fragment replaces the slot of its kind: the country, the time, the measure.
        (["What was the click rate in Spain last month?", "4.2%"],
         "and for France?", "What was the click rate in France last month?"),
        (["What was the click rate in Spain last month?", "4.2%"],
         "what about Germany?", "What was the click rate in Germany last month?"),
        (["What was the click rate in Spain last month?", "4.2%"],
         "and for revenue?", "What was the revenue in Spain last month?"),
        (["What was the click rate in Spain last month?", "4.2%"],
         "break that down by week", "break the click rate down by week"),
        (["list the team with 12 points.", "The Bears."],
         "how about more than 50 points", "list the team with more than 50 points"),
        (["Tell me more about Ching Shih.", "She was a pirate leader."],
         "What were her code of laws?", "What were Ching Shih's code of laws?"),
        (["How secure is blockchain?", "Quite secure."],
         "What are its other uses in business?", "What are blockchain's other uses in business?"),
        (["What year was the BALCO scandal?", "Late in 2003."],
         "did anybody report on the scandal?", "did anybody report on the BALCO scandal?"),
        (["which incumbent has a district of massachusetts 2?", "John Smith."],
         "which party", "which party has a district of massachusetts 2?"),
    ]

    @Test("rewrites resolve pointers and complete fragments", arguments: cases.indices)
    func rewrite(index: Int) {
        let item = Self.cases[index]
        let history = item.history.enumerated().map { ConversationTurn(speaker: $0.offset % 2 == 0 ? .user : .assistant, text: $0.element) }
        let analysis = FollowUpAnalyzer().analyze(query: item.query, history: history)
        #expect(analysis.isFollowUp)
        #expect(analysis.standaloneQuery == item.standalone, "\(analysis.reasons)")
        #expect(analysis.method == .rules)
    }

    @Test("when nothing can be resolved the query stays as it is, and the reasons say so")
    func unsure() {
        let history = [ConversationTurn(speaker: .user, text: "hello"), ConversationTurn(speaker: .assistant, text: "hi")]
        let analysis = FollowUpAnalyzer().analyze(query: "Why?", history: history)
        if analysis.isFollowUp {
            #expect(analysis.reasons.contains("rewrite:unchanged-unsure") || analysis.standaloneQuery != "Why?")
        }
    }

    @Test("the analysis is deterministic")
    func deterministic() {
        let history = [ConversationTurn(speaker: .user, text: "How many artists start with A-E?")]
        let first = FollowUpAnalyzer().analyze(query: "Who are those artists?", history: history)
        for _ in 0..<10 { #expect(FollowUpAnalyzer().analyze(query: "Who are those artists?", history: history) == first) }
    }
}
