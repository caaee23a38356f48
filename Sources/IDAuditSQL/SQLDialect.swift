/// An SQL engine the plan script is written for: how its SQL differs from the others'.
///
/// The script (``PlanScript``) is one piece of SQL with a hook here wherever engines differ: literals, byte order,
/// times, regular expressions, temporary tables, errors, and the fold that walks a sliding window.
public enum SQLDialect: String, Sendable, CaseIterable {
    case postgres, redshift, snowflake, bigquery, spark, duckdb

    /// Reads a dialect name; `databricks` is Spark SQL under its product name.
    public init?(name: String) {
        let lower = name.lowercased()
        if lower == "databricks" {
            self = .spark
            return
        }
        guard let dialect = SQLDialect(rawValue: lower) else { return nil }
        self = dialect
    }

    /// The names `--dialect` takes.
    public static let names = ["postgres", "redshift", "snowflake", "bigquery", "spark", "databricks", "duckdb"]

    /// The engine's name, for messages.
    public var displayName: String {
        switch self {
        case .postgres: "PostgreSQL"
        case .redshift: "Redshift"
        case .snowflake: "Snowflake"
        case .bigquery: "BigQuery"
        case .spark: "Spark SQL (Databricks)"
        case .duckdb: "DuckDB"
        }
    }

    // MARK: - Types and literals

    /// The text type.
    var text: String {
        switch self {
        case .postgres: "TEXT"
        case .redshift: "VARCHAR(65535)"
        case .snowflake, .duckdb: "VARCHAR"
        case .bigquery, .spark: "STRING"
        }
    }

    /// The 64-bit integer type.
    var bigint: String { self == .bigquery ? "INT64" : "BIGINT" }

    /// A string literal for `value` that holds only printable ASCII: the script is text a person pastes into a
    /// worksheet or an editor, which may turn CR into LF, normalise combining marks or hide a bidi control. Every
    /// other character is written as the engine's escape (or a `CHR` call where its literals have none), so the
    /// engine reads back exactly `value`'s scalars.
    func literal(_ value: String) -> String {
        switch self {
        case .postgres:
            // An escape string (E'...') only when needed: `\uXXXX` and `\UXXXXXXXX` are code points.
            guard !value.unicodeScalars.allSatisfy(Self.printable) else {
                return "'" + value.replacing("'", with: "''") + "'"
            }
            return "E" + Self.escaped(value, quote: "''") { $0.value <= 0xFFFF ? "\\u" + Self.hex($0.value, 4) : "\\U" + Self.hex($0.value, 8) }
        case .redshift:
            // Redshift reads backslash escapes in every literal (its QUOTE_LITERAL doubles backslashes), as
            // PostgreSQL 8.0 did: `\\` is one backslash and `\ooo` one byte, octal; a character is its UTF-8 bytes.
            return Self.escaped(value, quote: "''") { scalar in
                String(scalar).utf8.map { byte in
                    let octal = String(byte, radix: 8)
                    return "\\" + String(repeating: "0", count: 3 - octal.count) + octal
                }.joined()
            }
        case .spark:
            // Spark's `\uXXXX` is a UTF-16 unit: a pair for a supplementary character.
            return Self.escaped(value, quote: "\\'") { String($0).utf16.map { "\\u" + Self.hex(UInt32($0), 4) }.joined() }
        case .bigquery:
            return Self.escaped(value, quote: "\\'") { $0.value <= 0xFFFF ? "\\u" + Self.hex($0.value, 4) : "\\U" + Self.hex($0.value, 8) }
        case .snowflake, .duckdb:
            // Pieces joined by `||` with `CHR(code point)` between them (Snowflake's literals also read backslash
            // escapes, so its backslashes are doubled; DuckDB's are standard).
            var pieces: [String] = []
            var current = ""
            for s in value.unicodeScalars {
                if Self.printable(s) {
                    switch s {
                    case "'": current += "''"
                    case "\\" where self == .snowflake: current += "\\\\"
                    default: current.unicodeScalars.append(s)
                    }
                } else {
                    if !current.isEmpty { pieces.append("'" + current + "'") }
                    current = ""
                    pieces.append((self == .duckdb ? "chr(" : "CHR(") + String(s.value) + ")")
                }
            }
            if !current.isEmpty || pieces.isEmpty { pieces.append("'" + current + "'") }
            return pieces.count == 1 ? pieces[0] : "(" + pieces.joined(separator: " || ") + ")"
        }
    }

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

    /// Whether the engine's text can hold `value`: PostgreSQL's (and Redshift's) cannot hold NUL.
    func canHold(_ value: String) -> Bool {
        switch self {
        case .postgres, .redshift: !value.unicodeScalars.contains("\0")
        default: true
        }
    }

    /// A quoted column name (for names that are keywords: `timestamp`).
    func column(_ name: String) -> String {
        switch self {
        case .spark, .bigquery: "`\(name)`"
        case .snowflake: "\"\(name.uppercased())\""
        case .postgres, .redshift, .duckdb: "\"\(name)\""
        }
    }

    /// `expr` as text. On PostgreSQL in the "C" collation, so that every sort, partition and join of the script
    /// compares bytes whatever the database's default collation (with an ICU en-US default, the whole script took
    /// 121 s instead of 81 s at 1 M profiles).
    func textCast(_ expr: String) -> String {
        self == .postgres ? "(CAST(\(expr) AS TEXT) COLLATE \"C\")" : "CAST(\(expr) AS \(text))"
    }

    /// `expr` compared and sorted by its bytes.
    func bytes(_ expr: String) -> String {
        self == .postgres ? "(\(expr) COLLATE \"C\")" : expr
    }

    /// `a mod b`, never negative for b > 0.
    func pmod(_ a: String, _ b: String) -> String {
        switch self {
        case .spark: "pmod(\(a), \(b))"
        case .bigquery: "MOD(MOD(\(a), \(b)) + \(b), \(b))"
        default: "(((\(a)) % \(b) + \(b)) % \(b))"
        }
    }

    /// Integer division rounding down.
    func floorDiv(_ a: String, _ b: String) -> String {
        switch self {
        case .bigquery: "DIV(\(a) - \(pmod(a, b)), \(b))"
        case .spark: "((\(a) - \(pmod(a, b))) div \(b))"
        case .duckdb: "((\(a) - \(pmod(a, b))) // \(b))"
        default: "((\(a) - \(pmod(a, b))) / \(b))"
        }
    }

    // MARK: - Times

    /// Statements that make the session read and print times in UTC.
    var sessionSetup: [String] {
        switch self {
        // PostgreSQL: literals are read as the standard says (`\` is a backslash), whatever the server's default.
        case .postgres: ["SET TIME ZONE 'UTC'", "SET standard_conforming_strings = on"]
        case .redshift: ["SET TIME ZONE 'UTC'"]
        case .duckdb: ["SET TimeZone = 'UTC'"]
        // Spark: ANSI mode, so a cast or arithmetic that cannot be done stops the run rather than give NULL (Spark 4's
        // default; Spark 3's was off).
        case .spark: ["SET spark.sql.session.timeZone = UTC", "SET spark.sql.ansi.enabled = true"]
        // Snowflake turns a timestamp column into text with the session's output format, milliseconds by default:
        // the script reads times as text, so the formats keep every digit.
        case .snowflake:
            [
                "ALTER SESSION SET TIMEZONE = 'UTC'",
                "ALTER SESSION SET TIMESTAMP_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZHTZM'",
                "ALTER SESSION SET TIMESTAMP_TZ_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZHTZM'",
                "ALTER SESSION SET TIMESTAMP_LTZ_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZHTZM'",
                "ALTER SESSION SET TIMESTAMP_NTZ_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'",
            ]
        case .bigquery: []
        }
    }

    /// `needle`'s 1-based position in `haystack`, 0 when absent.
    func position(of needle: String, in haystack: String) -> String {
        switch self {
        case .spark: "instr(\(haystack), \(needle))"
        case .snowflake: "CHARINDEX(\(needle), \(haystack))"
        default: "STRPOS(\(haystack), \(needle))"
        }
    }

    /// `text` without its leading zeros.
    func trimLeadingZeros(_ text: String) -> String {
        self == .spark ? "TRIM(LEADING '0' FROM \(text))" : "LTRIM(\(text), '0')"
    }

    /// The integer quotient of two non-negative integers.
    func quotient(_ a: String, _ b: String) -> String {
        let (a, b) = ("(\(a))", "(\(b))")
        switch self {
        case .postgres, .redshift: return "(\(a) / \(b))"
        case .duckdb: return "(\(a) // \(b))"
        case .spark: return "(\(a) div \(b))"
        case .snowflake: return "FLOOR(\(a) / \(b))"
        case .bigquery: return "DIV(\(a), \(b))"
        }
    }

    /// Microseconds since 1970 of the engine's current time.
    var nowMicros: String {
        switch self {
        case .postgres, .redshift: "CAST(extract(epoch FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT)"
        case .duckdb: "epoch_us(CURRENT_TIMESTAMP)"
        case .spark: "unix_micros(current_timestamp())"
        case .snowflake: "DATE_PART(epoch_microsecond, CURRENT_TIMESTAMP())"
        case .bigquery: "UNIX_MICROS(CURRENT_TIMESTAMP())"
        }
    }

    /// A time in microseconds as plan.csv writes it: `2026-11-23T08:15:00Z`, `.ffffff` only when there is a fraction.
    func planTime(_ us: String) -> String {
        let seconds: String
        switch self {
        case .postgres, .redshift:
            seconds = "to_char(TIMESTAMP 'epoch' + \(floorDiv(us, "1000000")) * INTERVAL '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        case .duckdb:
            seconds = "strftime(make_timestamp(\(floorDiv(us, "1000000")) * 1000000), '%Y-%m-%dT%H:%M:%S')"
        case .spark:
            seconds = "date_format(timestamp_seconds(\(floorDiv(us, "1000000"))), \"yyyy-MM-dd'T'HH:mm:ss\")"
        case .snowflake:
            seconds = "TO_CHAR(TO_TIMESTAMP_NTZ(\(floorDiv(us, "1000000")), 0), 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        case .bigquery:
            seconds = "FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%S', TIMESTAMP_SECONDS(\(floorDiv(us, "1000000"))))"
        }
        let fraction = pmod(us, "1000000")
        return "(\(seconds) || CASE WHEN \(fraction) = 0 THEN '' ELSE '.' || "
            + "LPAD(CAST(\(fraction) AS \(text)), 6, '0') END || 'Z')"
    }

    // MARK: - Regular expressions and errors

    /// The end of the text in a pattern: `$`, but `\z` in Java's regular expressions, whose `$` also matches before
    /// a final line terminator.
    var endAnchor: String { self == .spark ? "\\z" : "$" }

    /// Whether `value` matches the (already translated) `pattern` anywhere.
    func search(_ value: String, _ pattern: String) -> String {
        switch self {
        case .postgres, .redshift: "(\(value) ~ \(pattern))"
        case .duckdb: "regexp_matches(\(value), \(pattern))"
        case .spark: "(\(value) RLIKE \(pattern))"
        case .snowflake: "(REGEXP_INSTR(\(value), \(pattern)) > 0)"
        case .bigquery: "REGEXP_CONTAINS(\(value), \(pattern))"
        }
    }

    /// An expression that stops the script with `message` (text) when it is evaluated.
    func fail(_ message: String) -> String {
        switch self {
        case .duckdb: "error(\(message))"
        case .spark: "raise_error(\(message))"
        case .bigquery: "ERROR(\(message))"
        // No error function: a cast that cannot succeed carries the message into the engine's error.
        case .postgres, .redshift: "CAST(\(message) AS INTEGER)"
        case .snowflake: "TO_NUMBER(\(message))"
        }
    }

    // MARK: - Statements

    /// Whether intermediate results are work tables in the target schema rather than temporary tables: Spark's
    /// cached views keep their whole lineage, and the merge rounds (each reading the previous round twice) would
    /// make it grow exponentially; a table written and read back starts afresh. Work tables are dropped at the end.
    var usesWorkTables: Bool { self == .spark }

    /// Statements that make `name` hold `select` for the rest of the script.
    func temporaryTable(_ name: String, _ select: String) -> [String] {
        switch self {
        case .spark: ["DROP TABLE IF EXISTS \(name)", "CREATE TABLE \(name) AS\n\(select)"]
        case .bigquery: ["CREATE TEMP TABLE \(name) AS\n\(select)"]
        // PostgreSQL: autovacuum never analyzes temporary tables; without statistics the planner guesses a few
        // hundred rows for every one and picks sort-merge joins over millions (measured at 1 M profiles: a 29 s
        // statement, 1 GB sorted on disk, where hash joins take a few seconds). ANALYZE samples 30,000 rows.
        case .postgres: ["CREATE TEMPORARY TABLE \(name) AS\n\(select)", "ANALYZE \(name)"]
        case .redshift, .duckdb: ["CREATE TEMPORARY TABLE \(name) AS\n\(select)"]
        case .snowflake: ["CREATE OR REPLACE TEMPORARY TABLE \(name) AS\n\(select)"]
        }
    }

    /// Statements that (re)create the result table `table` from `select`.
    func resultTable(_ table: String, _ select: String) -> [String] {
        switch self {
        case .spark: ["DROP TABLE IF EXISTS \(table)", "CREATE TABLE \(table) AS\n\(select)"]
        case .postgres, .redshift: ["DROP TABLE IF EXISTS \(table)", "CREATE TABLE \(table) AS\n\(select)"]
        case .duckdb, .snowflake, .bigquery: ["CREATE OR REPLACE TABLE \(table) AS\n\(select)"]
        }
    }

    /// The statements that open and close the transaction the result tables are written in: none where DDL is
    /// not transactional (Snowflake commits each DDL statement, BigQuery refuses table DDL in a transaction, Spark
    /// has none).
    var transaction: (begin: String, commit: String)? {
        switch self {
        case .postgres, .redshift, .duckdb: ("BEGIN", "COMMIT")
        case .snowflake, .bigquery, .spark: nil
        }
    }
}
