import Foundation

/// Reports progress of a long walk on standard error: a redrawn bar on a terminal, a plain line
/// every few seconds otherwise.
struct ProgressReporter {
    private let label: String
    private let total: UInt64
    private let start = ContinuousClock.now
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastLine = ContinuousClock.now

    init(label: String, total: UInt64) {
        self.label = label
        self.total = total
    }

    /// Seconds since the reporter was made.
    var elapsedSeconds: Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Events per second since start.
    func rate(_ done: UInt64) -> Double { Double(done) / max(elapsedSeconds, 1e-9) }

    mutating func update(_ done: UInt64) {
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        if isTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            let line = String(format: "\r%@ [%@] %3.0f%%  %llu/%llu events  %.0f events/s", label, bar, fraction * 100, done, total, rate(done))
            FileHandle.standardError.write(Data(line.utf8))
        } else if ContinuousClock.now - lastLine >= .seconds(2) {
            lastLine = .now
            printError(String(format: "%@: %llu/%llu events (%.0f%%), %.0f events/s", label, done, total, fraction * 100, rate(done)))
        }
    }

    /// Ends the bar's line on a terminal.
    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
