/// Closed word classes of English that the cue rules rely on. General grammar, not vocabulary
/// learned from any data set.
enum Lexicon {
    /// Personal pronouns (and possessives) that need an antecedent.
    static let personalPronouns: Set<String> = [
        "it", "its", "itself", "they", "them", "their", "theirs", "themselves",
        "he", "him", "his", "himself", "she", "her", "hers", "herself",
    ]
    /// Demonstratives.
    static let demonstratives: Set<String> = ["this", "that", "these", "those"]
    /// Wh-words.
    static let whWords: Set<String> = [
        "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "whats", "whos", "wheres", "hows", "whens", "whys",
    ]
    /// Auxiliary and copular verbs.
    static let auxiliaries: Set<String> = [
        "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "has", "have", "had",
        "can", "could", "will", "would", "shall", "should", "may", "might", "must", "'s",
    ]
    /// Verb particles: "that" before one is a pointer ("break that down", "sum that up").
    static let particles: Set<String> = ["down", "up", "out", "apart", "off", "back", "over"]

    static let prepositions: Set<String> = [
        "in", "on", "at", "for", "from", "to", "of", "with", "by", "about", "over", "under", "between", "during",
        "before", "after", "since", "until", "into", "through", "per", "than", "without", "within", "among", "across",
        "like", "near", "against", "around", "via",
    ]
    static let determiners: Set<String> = [
        "the", "a", "an", "this", "that", "these", "those", "my", "your", "our", "each", "every", "all", "any", "some",
        "no", "both", "either", "neither", "another", "other", "such",
    ]
    static let conjunctions: Set<String> = ["and", "or", "but", "so", "then", "also", "plus", "yet", "nor", "if", "because", "while"]
    /// Words that carry no topic.
    static let function: Set<String> = personalPronouns.union(demonstratives).union(whWords).union(auxiliaries)
        .union(prepositions).union(determiners).union(conjunctions).union([
            "i", "me", "you", "we", "us", "not", "n't", "there", "here", "please", "tell", "give", "show", "list", "find",
            "get", "know", "want", "like", "more", "most", "much", "many", "very", "just", "only", "really", "ok", "okay",
            "oh", "yes", "no", "yeah", "well", "wow", "thanks", "thank", "hi", "hello", "hey", "now", "about", "else",
            "one", "ones", "lot", "any", "can", "could", "let", "s", "don't", "doesn't", "didn't", "isn't", "aren't",
            "wasn't", "what's", "that's", "it's", "i'm", "i'd", "you're", "there's", "let's", "can't", "won't", "etc",
            "same", "again", "too", "as", "also", "some", "things", "thing", "way", "something", "anything", "kind",
            "sort", "type", "types", "examples", "example", "information", "info", "details", "make", "makes", "made",
            "go", "goes", "happen", "happened", "say", "said", "think", "mean", "means", "called", "use", "used",
        ])
    /// Openings of an elliptical follow-up ("what about …", "and for …").
    static let ellipsisOpeners: [[String]] = [
        ["what", "about"], ["how", "about"], ["what", "if"], ["and", "what", "about"], ["and", "how", "about"],
        ["same", "for"], ["same", "thing"], ["and", "for"], ["and", "in"], ["and", "the"], ["and", "what"],
        ["and", "how"], ["and", "which"], ["and", "who"], ["and", "when"], ["and", "where"], ["and", "why"],
        ["only", "the"], ["just", "the"], ["what", "else"], ["anything", "else"], ["how", "so"], ["why", "not"],
        ["and", "then"], ["then", "what"], ["how", "bout"], ["what", "'bout"], ["apart", "from"], ["instead", "of"],
    ]
    /// Openings that restrict or vary what was asked before ("only the ones in 2019", "if with …").
    static let restrictingOpeners: [[String]] = [
        ["if"], ["but"], ["just"], ["only"], ["except"], ["excluding"], ["including"], ["even"], ["besides"], ["also"],
    ]
    /// Words that open a turn without carrying its content ("ok", "actually", "wait").
    static let discourseMarkers: Set<String> = [
        "ok", "okay", "alright", "well", "so", "oh", "wait", "actually", "now", "no", "yes", "yeah", "hmm", "um", "uh",
        "ugh", "yikes", "wow", "interesting", "great", "cool", "sure", "hey", "hi", "hello", "please", "right", "fine",
        "good", "nice", "perfect", "awesome", "thanks", "anyway", "also",
    ]
    /// Words of thanks and acknowledgement: a turn made only of them asks nothing.
    static let pleasantries: Set<String> = [
        "thanks", "thank", "you", "so", "much", "ok", "okay", "cool", "great", "alright", "bye", "good", "nice", "perfect",
        "awesome", "got", "it", "sounds", "yikes", "ugh", "wow", "oh", "lot", "a", "very", "just", "thought", "i'd", "yes", "no",
        "check", "fine", "sure", "goodbye", "cheers", "done", "that's", "all", "for", "now", "noted", "understood",
    ]
    /// Words that continue or compare with what came before.
    static let continuation: Set<String> = [
        "else", "instead", "also", "too", "another", "others", "other", "rest", "remaining", "again", "compare",
        "compared", "comparison", "same", "besides", "additional", "further", "latter", "former", "previous",
        "above", "aforementioned", "similarly", "otherwise",
    ]
    /// Ordinals and positional words that point into a list given before ("the second one").
    static let ordinals: Set<String> = [
        "first", "second", "third", "fourth", "fifth", "last", "next", "former", "latter", "top", "bottom",
    ]
    /// Short answers to a question the assistant asked.
    static let replies: Set<String> = [
        "yes", "no", "yeah", "yep", "nope", "sure", "ok", "okay", "correct", "right", "exactly", "please", "definitely",
    ]
    /// Words that start a command or a question: a query opening with one has its own frame.
    static let clauseOpeners: Set<String> = whWords.union(auxiliaries).union([
        "tell", "give", "show", "list", "find", "get", "call", "play", "send", "add", "remove", "set", "open", "answer",
        "decline", "accept", "read", "delete", "cancel", "start", "stop", "turn", "put", "make", "create", "book",
        "describe", "explain", "compare", "count", "return", "display", "sort", "order", "select", "name", "provide",
        "i", "we", "you", "please", "can", "could", "would", "should", "let", "change", "check", "ask", "text", "message",
        "mute", "hang", "hold", "dial", "connect", "transfer", "forward", "reply", "schedule", "remind", "switch", "move",
        "keep", "forget", "ignore", "invite", "email", "share", "save", "buy", "search", "look", "help", "stop", "pause",
        "resume", "skip", "repeat", "increase", "decrease", "calculate", "identify", "determine", "rank", "group", "filter",
        "don't", "do", "go", "take", "bring", "leave", "try", "use", "write", "draw", "plot", "summarize", "translate",
    ])
    /// Function words and clause openers together: never names at the start of a clause.
    static let functionOrOpener: Set<String> = function.union(clauseOpeners)
    /// Verbs that make "that" a conjunction ("I think that …") rather than a pointer.
    static let thatComplementVerbs: Set<String> = [
        "say", "said", "says", "think", "thought", "know", "knew", "believe", "mean", "means", "meant", "show", "shows",
        "claim", "claims", "claimed", "suggest", "suggests", "hear", "heard", "read", "feel", "hope", "sure", "so", "such",
        "now", "given", "except", "than",
    ]
    /// Time words, for topic extraction and fragment completion.
    static let timeUnits: Set<String> = [
        "day", "days", "week", "weeks", "month", "months", "quarter", "quarters", "year", "years", "weekend", "hour",
        "hours", "today", "yesterday", "tomorrow", "tonight", "morning", "evening", "night", "q1", "q2", "q3", "q4",
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
        "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "ytd", "decade",
    ]
    static let timeModifiers: Set<String> = ["last", "this", "next", "previous", "past", "current", "coming"]
    /// Words that name a measure ("click rate", "revenue", "how many").
    static let metricHeads: Set<String> = [
        "rate", "revenue", "sales", "count", "number", "total", "sum", "average", "mean", "median", "price", "cost",
        "costs", "profit", "margin", "growth", "share", "percentage", "percent", "ratio", "amount", "volume", "score",
        "points", "conversion", "conversions", "clicks", "impressions", "users", "visits", "traffic", "spend",
        "budget", "income", "population", "size", "age", "height", "weight", "length", "duration", "salary",
    ]
}
