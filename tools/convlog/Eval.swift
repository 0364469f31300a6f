import ArgumentParser
import ConvLog
import EventLog
import Foundation
import FollowUp

/// `convlog eval`: scores the follow-up analyzer on labeled cases.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure follow-up detection and standalone rewriting on labeled cases (JSON lines).",
        discussion: """
            Each input line: {"id", "dataset", "history": [{"role", "content"}], "query",
            "is_follow_up", "standalone"}. Only history and query reach the analyzer. Prints
            accuracy, precision, recall, F1, balanced accuracy and rewrite token-F1, overall and
            per dataset.

            Example: convlog eval --input ../shared/eval/followup-dev.jsonl --output predictions.jsonl
            """
    )

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case rules
    }

    @Option(help: "The labeled cases (JSON lines).") var input: String
    @Option(help: "Where to write one prediction per line: {\"id\", \"is_follow_up\", \"standalone\", \"confidence\", \"reasons\"}.") var output: String?
    @Option(help: "How to rewrite: rules.") var method: Method = .rules

    func run() throws {
        guard let data = FileManager.default.contents(atPath: input) else { throw CLIError("cannot read \(input)") }
        var cases: [FollowUpEvaluation.Case] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            do {
                cases.append(try FollowUpEvaluation.Case(json: try JSONValue(parsing: Array(line))))
            } catch {
                throw CLIError("\(input):\(number + 1): \(error)")
            }
        }
        let analyzer = FollowUpAnalyzer()
        let report = FollowUpEvaluation.run(cases) { analyzer.analyze(query: $0, history: $1) }
        if let output {
            var lines = Data()
            for prediction in report.predictions {
                lines.append(contentsOf: prediction.jsonValue.canonicalBytes)
                lines.append(UInt8(ascii: "\n"))
            }
            guard FileManager.default.createFile(atPath: output, contents: lines) else { throw CLIError("cannot write \(output)") }
        }
        print(Self.row("dataset", "cases", "acc", "prec", "recall", "F1", "bal.acc", "rewriteF1"))
        for dataset in report.perDataset.keys.sorted() { print(Self.row(dataset, report.perDataset[dataset]!)) }
        print(Self.row("overall", report.overall))
    }

    private static func row(_ name: String, _ metrics: FollowUpEvaluation.Metrics) -> String {
        row(
            name, "\(metrics.cases)", format(metrics.accuracy), format(metrics.precision), format(metrics.recall), format(metrics.f1),
            format(metrics.balancedAccuracy), metrics.rewriteCases == 0 ? "-" : format(metrics.rewriteTokenF1)
        )
    }

    private static func row(_ columns: String...) -> String {
        zip(columns, [16, 7, 7, 7, 7, 7, 8, 9]).map { text, width in text.padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: " ")
    }

    private static func format(_ value: Double) -> String { String(format: "%.3f", value) }
}
