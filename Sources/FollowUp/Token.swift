/// A word or number of a text, with what the cue rules need to know about it.
public struct Token: Sendable, Hashable {
    /// The text as written.
    public let text: String
    /// Lower-cased.
    public let lower: String
    /// Starts with an upper-case letter.
    public let isCapitalized: Bool
    /// Made of digits (possibly with `.`, `,`, `%` or a leading `$`).
    public let isNumber: Bool
    /// Whether punctuation (`?`, `.`, `,`, `!`, `;`, `:`) follows it directly.
    public let endsClause: Bool

    init(_ text: String, endsClause: Bool) {
        self.text = text
        self.lower = text.lowercased()
        let first = text.unicodeScalars.first
        self.isCapitalized = first.map { $0.isASCII ? ("A"..."Z").contains($0) : $0.properties.isUppercase } ?? false
        self.isNumber = text.unicodeScalars.contains(where: Self.isDigit)
            && text.unicodeScalars.allSatisfy { Self.isDigit($0) || $0 == "." || $0 == "," || $0 == "%" || $0 == "$" || $0 == "-" }
        self.endsClause = endsClause
    }
}

extension Token {
    /// A digit (ASCII fast path; any numeric scalar otherwise).
    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? ("0"..."9").contains(scalar) : scalar.properties.numericType != nil
    }

    /// A letter (ASCII fast path; any alphabetic scalar otherwise).
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) : scalar.properties.isAlphabetic
    }
}

/// Splits text into word tokens: never substrings, so "with" is never "it".
///
/// Letters, digits, apostrophes inside words and hyphens inside words stay together; a possessive
/// `'s` is split off as its own token (`Ching Shih's` → `Ching`, `Shih`, `'s`).
public enum Tokenizer {
    public static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var current = String.UnicodeScalarView()
        func flush(endsClause: Bool) {
            guard !current.isEmpty else { return }
            var word = String(current)
            current.removeAll()
            // Trim apostrophes and hyphens at the edges.
            while let last = word.last, last == "'" || last == "’" || last == "-" { word.removeLast() }
            while let first = word.first, first == "'" || first == "’" || first == "-" { word.removeFirst() }
            guard !word.isEmpty else { return }
            let lower = word.lowercased()
            if lower.hasSuffix("'s") || lower.hasSuffix("’s"), word.count > 2 {
                tokens.append(Token(String(word.dropLast(2)), endsClause: false))
                tokens.append(Token("'s", endsClause: endsClause))
            } else {
                tokens.append(Token(word, endsClause: endsClause))
            }
        }
        for scalar in text.unicodeScalars {
            if Token.isLetter(scalar) || Token.isDigit(scalar) || scalar == "'" || scalar == "’" || scalar == "-"
                || (scalar == "." && current.last.map(Token.isDigit) == true) || scalar == "%" || scalar == "$"
            {
                current.append(scalar)
            } else {
                let ends = "?.!,;:".unicodeScalars.contains(scalar)
                if !current.isEmpty && current.last == "." { current.removeLast() }
                flush(endsClause: ends)
                if ends, let last = tokens.indices.last, !tokens[last].endsClause {
                    tokens[last] = Token(tokens[last].text, endsClause: true)
                }
            }
        }
        if !current.isEmpty && current.last == "." { current.removeLast() }
        flush(endsClause: true)
        return tokens
    }
}
