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
        let scalars = text.unicodeScalars
        var wordStart: String.UnicodeScalarView.Index?
        var previous: Unicode.Scalar?
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let isWordScalar = Token.isLetter(scalar) || Token.isDigit(scalar) || scalar == "'" || scalar == "’" || scalar == "-"
                || scalar == "%" || scalar == "$" || (scalar == "." && wordStart != nil && previous.map(Token.isDigit) == true)
            if isWordScalar {
                if wordStart == nil { wordStart = index }
            } else {
                if let start = wordStart {
                    append(word(scalars[start..<index]), endsClause: isClauseEnd(scalar), to: &tokens)
                    wordStart = nil
                } else if isClauseEnd(scalar), let last = tokens.indices.last, !tokens[last].endsClause {
                    tokens[last] = Token(tokens[last].text, endsClause: true)
                }
            }
            previous = scalar
            index = scalars.index(after: index)
        }
        if let start = wordStart { append(word(scalars[start...]), endsClause: true, to: &tokens) }
        return tokens
    }

    private static func isClauseEnd(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "?" || scalar == "." || scalar == "!" || scalar == "," || scalar == ";" || scalar == ":"
    }

    /// A word without a trailing decimal point ("4." at the end of a sentence).
    private static func word(_ slice: Substring.UnicodeScalarView) -> Substring {
        var text = Substring(slice)
        if text.last == "." { text.removeLast() }
        return text
    }

    /// Adds a word, trimmed of edge apostrophes and hyphens, with a possessive `'s` split off.
    private static func append(_ raw: Substring, endsClause: Bool, to tokens: inout [Token]) {
        var word = raw
        while let last = word.last, last == "'" || last == "’" || last == "-" { word.removeLast() }
        while let first = word.first, first == "'" || first == "’" || first == "-" { word.removeFirst() }
        guard !word.isEmpty else {
            if endsClause, let last = tokens.indices.last, !tokens[last].endsClause { tokens[last] = Token(tokens[last].text, endsClause: true) }
            return
        }
        if word.count > 2, word.hasSuffix("'s") || word.hasSuffix("’s") || word.hasSuffix("'S") {
            tokens.append(Token(String(word.dropLast(2)), endsClause: false))
            tokens.append(Token("'s", endsClause: endsClause))
        } else {
            tokens.append(Token(String(word), endsClause: endsClause))
        }
    }
}
