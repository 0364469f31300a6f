import Testing

@testable import FollowUp

private let history = [
    ConversationTurn(speaker: .user, text: "What was the click rate in Spain last month?"),
    ConversationTurn(speaker: .assistant, text: "The click rate in Spain was 4.2% last month."),
]

private func analyze(_ query: String, after turns: [ConversationTurn] = history) -> FollowUpAnalysis {
    FollowUpAnalyzer().analyze(query: query, history: turns)
}

@Suite("Follow-up cues")
struct CueTests {
    @Test("each cue family makes a follow-up and is named in the reasons", arguments: [
        // Pronouns and demonstratives without an antecedent.
        ("How did it change over the year?", "pronoun:it"),
        ("Why did they drop?", "pronoun:they"),
        ("Show me their breakdown by device.", "pronoun:their"),
        ("Who are those users?", "demonstrative:those"),
        ("How does that compare with France?", "demonstrative:that"),
        ("Can you elaborate on this?", "demonstrative:this"),
        // Ellipsis and fragments.
        ("What about in the US?", "ellipsis:what-about"),
        ("and for Germany?", "ellipsis:and-for"),
        ("how about last week", "ellipsis:how-about"),
        ("only the ones in 2019", "ellipsis:only-the"),
        ("top 5", "fragment"),
        ("how many in March?", "ellipsis:how-many"),
        ("which country?", "fragment:wh"),
        ("Ok, what about Italy?", "ellipsis:what-about"),
        // Continuation and comparison.
        ("What else affected it?", "continuation:else"),
        ("Show me the other ones.", "substitute:ones"),
        ("Give me the second one.", "ordinal:second"),
        ("Same for revenue", "ellipsis:same-for"),
    ])
    func cueFamilies(query: String, reason: String) {
        let analysis = analyze(query)
        #expect(analysis.isFollowUp)
        #expect(analysis.reasons.contains(reason), "\(analysis.reasons)")
    }

    @Test("words hidden inside other words are not cues", arguments: [
        "How many orders were shipped with express delivery in Texas during 2023?",
        "List every city in Portugal with more than 100,000 residents.",
        "Which item categories sold best across all European markets in 2022?",
        "Show the Thoseby Street branch revenue for 2021 in Canada.",
        "What is the itinerary for the Berlin marketing summit in 2024?",
    ])
    func noSubstrings(query: String) {
        let analysis = analyze(query)
        #expect(!analysis.isFollowUp, "\(analysis.reasons)")
        #expect(!analysis.reasons.contains { $0.hasPrefix("pronoun:") || $0.hasPrefix("demonstrative:") })
        #expect(analysis.standaloneQuery == query)
    }

    @Test("a question that names its own subject stands alone, even after a long conversation")
    func namedSubjectAfterLongConversation() {
        var long = history
        for turn in 0..<6 {
            long.append(ConversationTurn(speaker: .user, text: "And what about region \(turn)?"))
            long.append(ConversationTurn(speaker: .assistant, text: "It was \(turn).5%."))
        }
        let analysis = analyze("How many employees does Acme Corp have in Germany?", after: long)
        #expect(!analysis.isFollowUp)
        #expect(analysis.reasons.contains("standalone:named-subject"))
    }

    @Test("a pronoun with its antecedent in the query is not a follow-up cue")
    func antecedentInQuery() {
        let analysis = analyze("Where was Barack Obama born and when did he move to Chicago?")
        #expect(!analysis.reasons.contains("pronoun:he"))
        #expect(!analysis.isFollowUp)
    }

    @Test("impersonal it and existential there are not pointers", arguments: ["Is it raining in Madrid today?", "What time is it?", "Is there a report on Spanish sales for 2023?"])
    func impersonal(query: String) {
        let analysis = analyze(query)
        #expect(!analysis.reasons.contains { $0.hasPrefix("pronoun:") || $0.hasPrefix("pointer:") }, "\(analysis.reasons)")
    }

    @Test("thanks and acknowledgements ask nothing", arguments: ["Thanks!", "Ok, thank you so much.", "Great, got it."])
    func acknowledgements(query: String) {
        #expect(!analyze(query).isFollowUp)
    }

    @Test("a short reply to the assistant's question is a follow-up")
    func replyToQuestion() {
        let turns = [
            ConversationTurn(speaker: .user, text: "Show me sales."),
            ConversationTurn(speaker: .assistant, text: "For which region do you want them?"),
        ]
        let analysis = analyze("the northern one", after: turns)
        #expect(analysis.isFollowUp)
        #expect(analysis.reasons.contains("reply-to-question"))
    }

    @Test("without history nothing is a follow-up")
    func noHistory() {
        let analysis = analyze("Who are those artists?", after: [])
        #expect(!analysis.isFollowUp)
        #expect(analysis.reasons == ["standalone:no-history"])
        #expect(analysis.standaloneQuery == "Who are those artists?")
    }
}
