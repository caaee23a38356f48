import IDAuditCore

/// An ICU pattern from a rules file, rewritten for one SQL engine's regular expressions, or refused.
///
/// idaudit's rules are ICU patterns searched anywhere in a value. Engines differ: PostgreSQL and Redshift use
/// POSIX-style AREs, DuckDB and BigQuery RE2, Spark Java's `java.util.regex`, Snowflake POSIX EREs. This takes the
/// part of ICU's syntax that means the same everywhere (literals, escaped punctuation, bracket classes with ranges,
/// groups, alternation, greedy or lazy quantifiers, `^`, a final `$`, `.`) and writes it so that every engine
/// matches exactly the values ICU matches:
/// - `.` becomes a class excluding ICU's line terminators (LF, VT, FF, CR, NEL, LS, PS), which ICU's `.` does not
///   match and the others' mostly do;
/// - a final `$` also accepts one trailing line terminator (or CRLF), as ICU's does, and nothing more (Java's `$`
///   would accept another terminator after it: Spark's pattern ends in `\z`);
/// - `\d` (the decimal digits of ICU's Unicode version) is refused: no engine's classes follow the same version;
/// - a lazy quantifier becomes greedy (a search matches or not alike).
/// Anything else (`\d`, `\w`, `\s`, `\b`, look-around, back-references, inline flags, nested or POSIX classes, `$` before
/// the end) is refused with the reason: never silently a different match.
public struct PatternTranslation: Sendable {
    /// Why a pattern cannot be used on an engine.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        /// The pattern.
        public var pattern: String
        /// The dialect.
        public var dialect: SQLDialect
        /// Why.
        public var reason: String
        public var description: String {
            let shown = pattern.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
                .joined()
            return "blocked pattern \"\(shown)\" cannot run on \(dialect.displayName) with the same meaning: \(reason)"
        }
    }

    /// ICU's line terminators, which `.` does not match and `$` may precede.
    static let terminators: [Unicode.Scalar] = ["\n", "\u{0B}", "\u{0C}", "\r", "\u{85}", "\u{2028}", "\u{2029}"]

    /// Rewrites `pattern` for `dialect`.
    public static func translate(_ pattern: String, for dialect: SQLDialect) throws(Refusal) -> String {
        var out = ""
        let chars = Array(pattern.unicodeScalars)
        var i = 0
        var depth = 0
        func refuse(_ reason: String) -> Refusal { Refusal(pattern: pattern, dialect: dialect, reason: reason) }
        let notTerminator = "[^" + String(String.UnicodeScalarView(terminators)) + "]"
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "\\":
                guard i + 1 < chars.count else { throw refuse("it ends with a lone backslash") }
                let e = chars[i + 1]
                if e == "d" {
                    // RE2's and Java's \p{Nd} follow their own Unicode versions: digits added since (U+16D71,
                    // U+1E4F1) match in ICU and not there.
                    throw refuse(
                        "\\d means the decimal digits of ICU's Unicode version, which no engine's regular expressions "
                            + "share exactly; write [0-9] for ASCII digits")
                } else if e.properties.isAlphabetic || ("0"..."9").contains(e) {
                    throw refuse("the escape \\\(e) has no identical meaning across engines")
                } else {
                    out += escaped(e)
                }
                i += 2
                continue
            case ".":
                out += notTerminator
            case "$":
                guard i == chars.count - 1 else { throw refuse("$ is only accepted at the end of the pattern") }
                out += "(\r\n|[" + String(String.UnicodeScalarView(terminators)) + "])?" + dialect.sql.endAnchor
            case "^", "|", "*", "+":
                if (c == "*" || c == "+"), i + 1 < chars.count, chars[i + 1] == "+" {
                    throw refuse("possessive quantifiers are ICU and Java only")
                }
                out.unicodeScalars.append(c)
            case "?":
                if i > 0, "*+?}".unicodeScalars.contains(chars[i - 1]), !(i >= 2 && chars[i - 2] == "\\") {
                    // A lazy quantifier: the same values match.
                    if chars[i - 1] != "?" || (i >= 2 && "*+?}".unicodeScalars.contains(chars[i - 2])) {
                        i += 1
                        continue
                    }
                }
                out += "?"
            case "(":
                if i + 1 < chars.count, chars[i + 1] == "?" {
                    guard i + 2 < chars.count, chars[i + 2] == ":" else {
                        throw refuse("look-around, named groups and inline flags are not portable")
                    }
                    // A non-capturing group: a plain group means the same for a search.
                    i += 3
                    depth += 1
                    out += "("
                    continue
                }
                depth += 1
                out += "("
            case ")":
                depth -= 1
                guard depth >= 0 else { throw refuse("unbalanced parentheses") }
                out += ")"
            case "{":
                var j = i + 1
                var body = ""
                while j < chars.count, chars[j] != "}" {
                    body.unicodeScalars.append(chars[j])
                    j += 1
                }
                let parts = body.split(separator: ",", omittingEmptySubsequences: false)
                guard j < chars.count, !body.isEmpty, parts.count <= 2, let low = Int(parts[0]),
                    parts.count == 1 || parts[1].isEmpty || Int(parts[1]).map({ $0 >= low }) == true, low <= 1000
                else { throw refuse("{\(body)} is not a repetition count this translation accepts") }
                out += "{" + body + "}"
                i = j + 1
                continue
            case "[":
                let (text, next) = try bracket(chars, from: i, refuse: refuse)
                out += text
                i = next
                continue
            case "}", "]":
                throw refuse("an unescaped \(c) is not portable; escape it")
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    throw refuse("control characters in a pattern are not portable")
                }
                out.unicodeScalars.append(c)
            }
            i += 1
        }
        guard depth == 0 else { throw refuse("unbalanced parentheses") }
        return out
    }

    /// A literal character, escaped when it means something in a pattern.
    private static func escaped(_ c: Unicode.Scalar) -> String {
        if "\\.^$|?*+()[]{}/-".unicodeScalars.contains(c) { return "\\" + String(c) }
        return String(c)
    }

    /// A bracket class `[...]` of literals and ranges, optionally negated, rewritten literally.
    private static func bracket(
        _ chars: [Unicode.Scalar], from start: Int, refuse: (String) -> Refusal
    ) throws(Refusal) -> (String, Int) {
        var i = start + 1
        var out = "["
        if i < chars.count, chars[i] == "^" {
            out += "^"
            i += 1
        }
        var members: [(Unicode.Scalar, Unicode.Scalar)] = []
        var first = true
        while i < chars.count {
            var c = chars[i]
            if c == "]" && !first { break }
            first = false
            if c == "[" { throw refuse("nested sets, set operations and POSIX classes are ICU only") }
            if c == "&" && i + 1 < chars.count && chars[i + 1] == "&" { throw refuse("set operations are ICU only") }
            if c == "\\" {
                guard i + 1 < chars.count else { throw refuse("it ends with a lone backslash") }
                let e = chars[i + 1]
                if e.properties.isAlphabetic || ("0"..."9").contains(e) {
                    throw refuse("the escape \\\(e) inside a class has no identical meaning across engines")
                }
                c = e
                i += 1
            } else if c.value < 0x20 {
                throw refuse("control characters in a pattern are not portable")
            }
            var end = c
            if i + 2 < chars.count, chars[i + 1] == "-", chars[i + 2] != "]" {
                end = chars[i + 2]
                if end == "\\" {
                    guard i + 3 < chars.count else { throw refuse("it ends with a lone backslash") }
                    end = chars[i + 3]
                    i += 1
                } else if end == "[" {
                    throw refuse("nested sets are ICU only")
                }
                guard end.value >= c.value else { throw refuse("a range runs backwards") }
                i += 2
            }
            members.append((c, end))
            i += 1
        }
        guard i < chars.count else { throw refuse("a [ is never closed") }
        // Members are written in an order every engine reads literally: `]` first, `-` last, `^` not first, and
        // `\` as a one-character range of itself is avoided by listing it in a range-free escape-free way.
        var tail = ""
        var head = ""
        for (low, high) in members {
            let single = low == high
            if single && low == "]" { head += "]"; continue }
            if single && low == "-" { tail = "-"; continue }
            if single && low == "^" { tail = "^" + tail; continue }
            if single && low == "\\" { throw refuse("a backslash inside a class is read differently by engines") }
            if !single && (low == "\\" || high == "\\" || low == "]" || high == "]") {
                throw refuse("a range ending in \\ or ] is read differently by engines")
            }
            out += single ? String(low) : String(low) + "-" + String(high)
        }
        let body = head + String(out.dropFirst(out.hasPrefix("[^") ? 2 : 1)) + tail
        guard !body.isEmpty else { throw refuse("an empty class") }
        return ((out.hasPrefix("[^") ? "[^" : "[") + body + "]", i + 1)
    }
}
