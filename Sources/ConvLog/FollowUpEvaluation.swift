import EventLog
import FollowUp
import JSON

/// Measures the follow-up analyzer on labeled cases (the format of `shared/eval/followup-dev.jsonl`).
///
/// Only `history` and `query` reach the analyzer; `is_follow_up` and `standalone` are the gold
/// answers it is scored against.
public enum FollowUpEvaluation {
    /// One labeled case.
    public struct Case: Sendable {
        public var id: String
        public var dataset: String
        public var history: [ConversationTurn]
        public var query: String
        public var isFollowUp: Bool
        /// The gold standalone question, when the data set has one.
        public var standalone: String?

        /// Reads a case from one JSON line.
        /// - Throws: a description naming the missing or malformed field.
        public init(json: JSONValue) throws {
            guard let object = json.objectValue else { throw CaseError("a case must be a JSON object") }
            guard case .string(let id)? = object["id"] else { throw CaseError("id must be a string") }
            guard case .string(let query)? = object["query"] else { throw CaseError("\(id): query must be a string") }
            guard case .array(let turns)? = object["history"] else { throw CaseError("\(id): history must be an array") }
            self.id = id
            self.query = query
            self.dataset = object["dataset"]?.stringValue ?? "all"
            self.history = try turns.map { turn in
                guard let role = turn.objectValue?["role"]?.stringValue, let content = turn.objectValue?["content"]?.stringValue else {
                    throw CaseError("\(id): each history turn needs role and content strings")
                }
                return ConversationTurn(speaker: ConversationTurn.Speaker(rawValue: role) ?? .other, text: content)
            }
            guard case .bool(let label)? = object["is_follow_up"] else { throw CaseError("\(id): is_follow_up must be a boolean") }
            self.isFollowUp = label
            self.standalone = object["standalone"]?.stringValue
        }
    }

    /// A malformed case.
    public struct CaseError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// One prediction.
    public struct Prediction: Sendable {
        public var id: String
        public var isFollowUp: Bool
        public var standalone: String
        /// The analyzer's confidence and reasons, for error analysis.
        public var confidence: Double
        public var reasons: [String]

        /// The JSON line written by `convlog eval --output`.
        public var jsonValue: JSONValue {
            [
                "id": .string(id), "is_follow_up": .bool(isFollowUp), "standalone": .string(standalone),
                "confidence": .double(confidence), "reasons": .array(reasons.map(JSONValue.string)),
            ]
        }
    }

    /// Detection and rewrite quality over a set of cases.
    public struct Metrics: Sendable, Hashable {
        public var cases = 0
        public var truePositives = 0
        public var falsePositives = 0
        public var trueNegatives = 0
        public var falseNegatives = 0
        /// Sum and count of the rewrite token-F1 over gold follow-ups with a gold standalone.
        public var rewriteF1Sum = 0.0
        public var rewriteCases = 0

        public var accuracy: Double { ratio(truePositives + trueNegatives, cases) }
        public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
        public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
        /// The mean of recall and specificity; 0.5 for a constant answer.
        public var balancedAccuracy: Double {
            let positives = truePositives + falseNegatives
            let negatives = trueNegatives + falsePositives
            if positives == 0 { return ratio(trueNegatives, negatives) }
            if negatives == 0 { return recall }
            return (recall + ratio(trueNegatives, negatives)) / 2
        }
        public var rewriteTokenF1: Double { rewriteCases == 0 ? 0 : rewriteF1Sum / Double(rewriteCases) }

        mutating func add(gold: Case, predicted: Prediction) {
            cases += 1
            switch (gold.isFollowUp, predicted.isFollowUp) {
            case (true, true): truePositives += 1
            case (false, true): falsePositives += 1
            case (false, false): trueNegatives += 1
            case (true, false): falseNegatives += 1
            }
            if gold.isFollowUp, let standalone = gold.standalone {
                rewriteF1Sum += FollowUpEvaluation.tokenF1(predicted: predicted.standalone, gold: standalone)
                rewriteCases += 1
            }
        }

        private func ratio(_ numerator: Int, _ denominator: Int) -> Double {
            denominator == 0 ? 0 : Double(numerator) / Double(denominator)
        }
    }

    /// The result of an evaluation: predictions, and metrics overall and per data set.
    public struct Report: Sendable {
        public var predictions: [Prediction]
        public var overall: Metrics
        public var perDataset: [String: Metrics]
    }

    /// Runs `analyze` on every case and scores it.
    public static func run(_ cases: [Case], analyze: (String, [ConversationTurn]) -> FollowUpAnalysis) -> Report {
        score(cases, analyses: cases.map { analyze($0.query, $0.history) })
    }

    /// Runs an asynchronous `analyze` (a language-model rewrite, say) on every case, one at a time, and scores it.
    public static func run(_ cases: [Case], analyze: (String, [ConversationTurn]) async -> FollowUpAnalysis) async -> Report {
        var analyses: [FollowUpAnalysis] = []
        for item in cases { analyses.append(await analyze(item.query, item.history)) }
        return score(cases, analyses: analyses)
    }

    /// Scores one analysis per case (same order).
    static func score(_ cases: [Case], analyses: [FollowUpAnalysis]) -> Report {
        var overall = Metrics()
        var perDataset: [String: Metrics] = [:]
        var predictions: [Prediction] = []
        for (item, analysis) in zip(cases, analyses) {
            let prediction = Prediction(
                id: item.id,
                isFollowUp: analysis.isFollowUp,
                standalone: analysis.standaloneQuery,
                confidence: analysis.confidence,
                reasons: analysis.reasons
            )
            overall.add(gold: item, predicted: prediction)
            perDataset[item.dataset, default: Metrics()].add(gold: item, predicted: prediction)
            predictions.append(prediction)
        }
        return Report(predictions: predictions, overall: overall, perDataset: perDataset)
    }

    /// Token F1 of two texts: lower-cased, punctuation removed, split on white space, multiset overlap.
    public static func tokenF1(predicted: String, gold: String) -> Double {
        let predictedTokens = normalizedTokens(predicted)
        let goldTokens = normalizedTokens(gold)
        guard !predictedTokens.isEmpty, !goldTokens.isEmpty else { return predictedTokens == goldTokens ? 1 : 0 }
        var counts: [String: Int] = [:]
        for token in goldTokens { counts[token, default: 0] += 1 }
        var overlap = 0
        for token in predictedTokens where counts[token, default: 0] > 0 {
            counts[token]! -= 1
            overlap += 1
        }
        guard overlap > 0 else { return 0 }
        let precision = Double(overlap) / Double(predictedTokens.count)
        let recall = Double(overlap) / Double(goldTokens.count)
        return 2 * precision * recall / (precision + recall)
    }

    static func normalizedTokens(_ text: String) -> [String] {
        let kept = text.lowercased().unicodeScalars.filter { scalar in
            let category = scalar.properties.generalCategory
            switch category {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                return false
            default:
                return true
            }
        }
        return String(String.UnicodeScalarView(kept)).split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
