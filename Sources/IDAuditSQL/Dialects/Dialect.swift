/// How one engine's SQL differs from standard SQL: one type per engine in this folder, each in its own file, with the
/// standard spelling as the default here (the shape of sqlglot's dialect classes and dbt's dispatch with a default).
/// ``PlanScript`` is one relational plan with a hook wherever engines differ: literals, byte order, times, regular
/// expressions, temporary tables, errors, and the fold that walks a sliding window. Adding an engine is one file here
/// and one line in ``SQLDialect``, the registry of names.
package protocol Dialect: Sendable {
    /// The engine's name, for messages.
    var displayName: String { get }

    // MARK: Types and literals

    /// The text type.
    var text: String { get }
    /// The 64-bit integer type.
    var bigint: String { get }
    /// A string literal for `value` that holds only printable ASCII: the script is text a person pastes into a
    /// worksheet or an editor, which may turn CR into LF, normalise combining marks or hide a bidi control. Every
    /// other character is written as the engine's escape (or a `CHR` call where its literals have none), so the
    /// engine reads back exactly `value`'s scalars.
    func literal(_ value: String) -> String
    /// Whether the engine's text can hold `value`.
    func canHold(_ value: String) -> Bool
    /// A quoted column name (for names that are keywords: `timestamp`).
    func column(_ name: String) -> String
    /// `expr` as text.
    func textCast(_ expr: String) -> String
    /// `expr` compared and sorted by its bytes.
    func bytes(_ expr: String) -> String
    /// `a mod b`, never negative for b > 0.
    func pmod(_ a: String, _ b: String) -> String
    /// Integer division rounding down.
    func floorDiv(_ a: String, _ b: String) -> String
    /// Whether a schema name may hold `-` (BigQuery's project ids do).
    var schemaNamesMayHoldHyphens: Bool { get }

    // MARK: Times

    /// Statements that make the session read and print times in UTC.
    var sessionSetup: [String] { get }
    /// `needle`'s 1-based position in `haystack`, 0 when absent.
    func position(of needle: String, in haystack: String) -> String
    /// `text` without its leading zeros.
    func trimLeadingZeros(_ text: String) -> String
    /// `text` with each character of `from` replaced by the one at its place in `to` (as long as `from`).
    func translate(_ text: String, _ from: String, _ to: String) -> String
    /// The integer quotient of two non-negative integers.
    func quotient(_ a: String, _ b: String) -> String
    /// Microseconds since 1970 of the engine's current time.
    var nowMicros: String { get }
    /// Whole seconds since 1970 (`seconds`, an integer expression) as `2026-11-23T08:15:00`.
    func isoSeconds(_ seconds: String) -> String

    // MARK: Regular expressions and errors

    /// The end of the text in a pattern.
    var endAnchor: String { get }
    /// Whether `value` matches the (already translated) `pattern` anywhere.
    func search(_ value: String, _ pattern: String) -> String
    /// An expression that stops the script with `message` (text) when it is evaluated.
    func fail(_ message: String) -> String

    // MARK: Statements

    /// Whether a join's `ON` may hold only equalities (the blocked-value join is then a cross join and a filter).
    var joinsOnEqualitiesOnly: Bool { get }

    /// Whether intermediate results are work tables in the target schema rather than temporary tables (dropped at
    /// the end).
    var usesWorkTables: Bool { get }
    /// The statement that creates the results schema `name` when it is missing (and needs no privilege when it
    /// exists: a least-privilege user owns the schema but may not create schemas).
    func createSchemaIfMissing(_ name: String) -> String
    /// Statements that make `name` hold `select` for the rest of the script.
    func temporaryTable(_ name: String, _ select: String) -> [String]
    /// Statements that (re)create the result table `table` from `select`.
    func resultTable(_ table: String, _ select: String) -> [String]
    /// The statements that open and close the transaction the result tables are written in (nil: DDL is not
    /// transactional).
    var transaction: (begin: String, commit: String)? { get }

    // MARK: The window fold

    /// The statements that make the `windowed` table of a rule set with windowed limits: (profile, type, cpos) of
    /// each evicted candidate (see ``WindowFold``).
    func windowedStatements(_ fold: WindowFold) -> [String]
    /// The select of evictions: the fold over each group's candidates, oldest first.
    func windowedEvictions(_ fold: WindowFold) -> String
    /// Statements that define the fold as a function, where the engine has no lambda to write it inline.
    var walkFunction: [String] { get }
}

/// What a dialect's window fold reads and writes: the walk of the evaluator (rule 5) over each (profile, type) group
/// of candidates under a windowed limit, oldest first: append each value; while the kept values of its window number
/// more than the limit, evict the oldest one that is not protected.
package struct WindowFold: Sendable {
    /// The identifiers table (`profile, type, cpos, first_seen, prot, w, lim, cand, ccount`).
    package var ids: String
    /// The `windowed` table to make.
    package var windowed: String
    /// A work table name of the script (`steps`, for a walk computed in steps).
    package var table: @Sendable (String) -> String
    /// A statement that stops the script when `from` has a row, with `message` (`culprit` names its `column`).
    package var stopWhenAny: @Sendable (_ column: String, _ from: String, _ message: String) -> String

    /// `FROM ... GROUP BY profile, type` over the groups a fold walks.
    package var groups: String {
        "FROM \(ids) WHERE cand = 1 AND w IS NOT NULL AND ccount > lim GROUP BY profile, type"
    }
}

extension Dialect {
    package var bigint: String { "BIGINT" }
    package func canHold(_ value: String) -> Bool { true }
    package func column(_ name: String) -> String { "\"\(name)\"" }
    package func textCast(_ expr: String) -> String { "CAST(\(expr) AS \(text))" }
    package func bytes(_ expr: String) -> String { expr }
    package func pmod(_ a: String, _ b: String) -> String { "(((\(a)) % \(b) + \(b)) % \(b))" }
    package func floorDiv(_ a: String, _ b: String) -> String { "((\(a) - \(pmod(a, b))) / \(b))" }
    package var schemaNamesMayHoldHyphens: Bool { false }
    package var sessionSetup: [String] { [] }
    package func position(of needle: String, in haystack: String) -> String { "STRPOS(\(haystack), \(needle))" }
    package func trimLeadingZeros(_ text: String) -> String { "LTRIM(\(text), '0')" }
    package func translate(_ text: String, _ from: String, _ to: String) -> String {
        "TRANSLATE(\(text), \(from), \(to))"
    }
    package func quotient(_ a: String, _ b: String) -> String { "((\(a)) / (\(b)))" }
    package var endAnchor: String { "$" }
    package var usesWorkTables: Bool { false }
    package var joinsOnEqualitiesOnly: Bool { false }
    package func createSchemaIfMissing(_ name: String) -> String { "CREATE SCHEMA IF NOT EXISTS \(name)" }
    package func temporaryTable(_ name: String, _ select: String) -> [String] {
        ["CREATE TEMPORARY TABLE \(name) AS\n\(select)"]
    }
    package func resultTable(_ table: String, _ select: String) -> [String] {
        ["DROP TABLE IF EXISTS \(table)", "CREATE TABLE \(table) AS\n\(select)"]
    }
    package var transaction: (begin: String, commit: String)? { ("BEGIN", "COMMIT") }
    package func windowedStatements(_ fold: WindowFold) -> [String] {
        temporaryTable(fold.windowed, windowedEvictions(fold))
    }
    package var walkFunction: [String] { [] }

    /// A time in microseconds as plan.csv writes it: `2026-11-23T08:15:00Z`, `.ffffff` only when there is a fraction.
    package func planTime(_ us: String) -> String {
        let fraction = pmod(us, "1000000")
        return "(\(isoSeconds(floorDiv(us, "1000000"))) || CASE WHEN \(fraction) = 0 THEN '' ELSE '.' || "
            + "LPAD(CAST(\(fraction) AS \(text)), 6, '0') END || 'Z')"
    }
}

/// Literal spelling shared by dialects.
enum Literal {
    /// Whether a character is printable ASCII, which a literal holds as it is.
    static func printable(_ s: Unicode.Scalar) -> Bool { s.value >= 0x20 && s.value < 0x7F }

    /// `v` in `width` upper-case hexadecimal digits.
    static func hex(_ v: UInt32, _ width: Int) -> String {
        let digits = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `value` in single quotes for a dialect whose literals read backslash escapes: a backslash doubled, a quote
    /// written as `quote`, any character that is not printable ASCII as `escape` writes it.
    static func escaped(_ value: String, quote: String, escape: (Unicode.Scalar) -> String) -> String {
        var out = "'"
        for s in value.unicodeScalars {
            switch s {
            case "\\": out += "\\\\"
            case "'": out += quote
            case _ where printable(s): out.unicodeScalars.append(s)
            default: out += escape(s)
            }
        }
        return out + "'"
    }

    /// `\uXXXX` for the basic plane, `\UXXXXXXXX` beyond.
    static func codePoint(_ s: Unicode.Scalar) -> String {
        s.value <= 0xFFFF ? "\\u" + hex(s.value, 4) : "\\U" + hex(s.value, 8)
    }

    /// Pieces joined by `||` with `chr(code point)` between them, for literals without escapes (`chr`: the
    /// function's spelling; `backslashEscapes`: whether the literals read backslash escapes, doubling backslashes).
    static func concatenated(_ value: String, chr: String, backslashEscapes: Bool) -> String {
        var pieces: [String] = []
        var current = ""
        for s in value.unicodeScalars {
            if printable(s) {
                switch s {
                case "'": current += "''"
                case "\\" where backslashEscapes: current += "\\\\"
                default: current.unicodeScalars.append(s)
                }
            } else {
                if !current.isEmpty { pieces.append("'" + current + "'") }
                current = ""
                pieces.append(chr + "(" + String(s.value) + ")")
            }
        }
        if !current.isEmpty || pieces.isEmpty { pieces.append("'" + current + "'") }
        return pieces.count == 1 ? pieces[0] : "(" + pieces.joined(separator: " || ") + ")"
    }
}
