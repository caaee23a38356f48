import IDAuditCore

/// The whole scan as one SQL script for one engine: run inside the warehouse against the Profiles Sync tables, it
/// writes the plan, the summary, the histogram and what the reports need into a schema of result tables.
///
/// Every rule of the scan is in the SQL, partitioned by profile so the engine spreads it over its nodes:
/// - rule 1, merges: each segment's parent is the `canonical_segment_id` of its highest-SEQ graph row (equal SEQs:
///   the greatest canonical id by bytes); chains are resolved by pointer jumping over the pointers not yet final
///   (12 rounds of self-joins reach 4,096 hops) and a cycle stops the script naming its byte-smallest segment;
/// - rule 2, identifier state: rows with the same `id` of one identifier keep the greatest by (SEQ, REMOVED over
///   CREATED, time, segment id bytes); ordered by (SEQ, id bytes), an identifier is active when its last row is
///   CREATED, first seen at the first CREATED row after its last REMOVED one;
/// - rules 3 to 7: protected values first, then the first blocked entry (file order) that matches, `ever` limits by
///   rank, windowed limits by a fold over each profile's values of the type, oldest first (Spark `aggregate`,
///   DuckDB `list_reduce`, Snowflake `REDUCE`, a PL/pgSQL function on PostgreSQL, a JavaScript function on
///   BigQuery, a recursive CTE on Redshift); the lookup user_id, `remediable` and `rank`.
/// The rules are data (tables of limits, blocked entries and protected values); only each blocked pattern is a
/// constant of its own select (an engine compiles a constant pattern once, a pattern read from a table once per row).
public struct PlanScript: Sendable {
    /// What the script reads and writes.
    public struct Options: Sendable {
        /// The engine.
        public var dialect: SQLDialect
        /// The schema holding `id_graph_updates` and `external_id_mapping_updates`.
        public var sourceSchema: String
        /// The schema the result tables go to (created when missing).
        public var targetSchema: String
        /// Whether `external_id_mapping_updates` has `__operation` (absent: every row is CREATED).
        public var hasOperation = true
        /// Whether it has `received_at` (the time of a row whose `timestamp` is empty).
        public var hasReceivedAt = true
        /// Whether `id_graph_updates` has `timestamp` (read only to refuse a row whose time is not a time, as an
        /// ingest does).
        public var graphHasTimestamp = true
        /// The rounds of pointer jumping that resolve merge chains: round k reaches 2^k hops (12: 4,096).
        public var mergeRounds = PlanScript.defaultMergeRounds
        /// The plan's `generated_at`; nil: the engine's clock when the script runs.
        public var generatedAt: Instant?

        /// Options for `dialect`.
        public init(dialect: SQLDialect, sourceSchema: String, targetSchema: String) {
            self.dialect = dialect
            self.sourceSchema = sourceSchema
            self.targetSchema = targetSchema
        }
    }

    /// The result tables, in the order they are written.
    public static let resultTables = [
        "idaudit_plan", "idaudit_summary", "idaudit_histogram", "idaudit_kept", "idaudit_offenders", "idaudit_caps",
    ]

    /// The merge rounds a script has unless told otherwise: 12, chains of up to 4,096 merges.
    public static let defaultMergeRounds = 12

    /// How many of the worst profiles `idaudit_offenders` holds (the reports' top offenders).
    public static let offenders = 20

    /// The statements, in order.
    public let statements: [String]

    /// The script as one text, statements separated by `;`.
    public var text: String { statements.joined(separator: ";\n\n") + ";\n" }

    /// Writes the script for `rules`.
    ///
    /// - Throws: ``PlanScriptError`` for a schema name that is not a plain identifier, a blocked pattern the
    ///   dialect cannot match identically (``PatternTranslation``).
    public init(rules: RuleSet, options: Options) throws(PlanScriptError) {
        statements = try Builder(rules: rules, options: options).build()
    }
}

/// Why a script cannot be written.
public struct PlanScriptError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}

// MARK: - The builder

private struct Builder {
    let rules: RuleSet
    let o: PlanScript.Options
    var d: any Dialect { o.dialect.sql }

    init(rules: RuleSet, options: PlanScript.Options) {
        self.rules = rules
        o = options
    }

    func checkSchema(_ name: String, _ what: String) throws(PlanScriptError) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        let ok =
            !name.isEmpty && parts.count <= 3
            && parts.allSatisfy { part in
                guard let first = part.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else {
                    return false
                }
                return part.unicodeScalars.allSatisfy {
                    $0 == "_" || $0 == "-" && d.schemaNamesMayHoldHyphens || ($0.isASCII && $0.properties.isAlphabetic)
                        || ("0"..."9").contains($0)
                }
            }
        guard ok else {
            throw PlanScriptError(message: "\(what) \"\(name)\" is not a plain schema name (letters, digits, _)")
        }
    }

    // Names: temporary tables (t_*), the result tables in the target schema.
    func tmp(_ name: String) -> String {
        d.usesWorkTables ? o.targetSchema + ".idaudit_work_" + name : "idaudit_t_" + name
    }

    /// Every intermediate table, for the dialects that drop work tables at the end.
    var intermediates: [String] {
        ["limits", "blocked", "protected", "parents", "pointers"] + (0...o.mergeRounds).map { "p\($0)" }
            + ["merged", "active", "hits", "ids", "windowed", "verdicts", "lookup", "lines"]
    }
    func source(_ table: String) -> String { o.sourceSchema + "." + table }
    func result(_ table: String) -> String { o.targetSchema + "." + table }

    var timeCol: String { d.column("timestamp") }

    func text(_ expr: String) -> String { d.textCast(expr) }
    func int(_ expr: String) -> String { "CAST(\(expr) AS \(d.bigint))" }
    /// An empty text as NULL (a blank one is not empty: an ingest reads the field's bytes).
    func emptyAsNull(_ expr: String) -> String { "NULLIF(\(text(expr)), '')" }

    /// A table of literal rows: `SELECT ... UNION ALL SELECT ...`, typed by casts (an empty table when no rows).
    func literalTable(_ columns: [(name: String, type: String)], _ rows: [[String]]) -> String {
        if rows.isEmpty {
            return "SELECT " + columns.map { "CAST(NULL AS \($0.type)) AS \($0.name)" }.joined(separator: ", ")
                + " FROM (SELECT 1 AS one) AS empty WHERE 1 = 0"
        }
        return rows.map { row in
            "SELECT " + zip(columns, row).map { "CAST(\($1) AS \($0.type)) AS \($0.name)" }.joined(separator: ", ")
        }.joined(separator: "\nUNION ALL ")
    }

    func build() throws(PlanScriptError) -> [String] {
        try checkSchema(o.sourceSchema, "the source schema")
        try checkSchema(o.targetSchema, "the target schema")
        var s: [String] = d.sessionSetup
        if hasWindows { s += d.walkFunction }
        // The previous run's results go first: a run that fails leaves no result table a reader could take for its
        // own (the new ones are written last, together where the engine's DDL is transactional).
        s.append(d.createSchemaIfMissing(o.targetSchema))
        s += PlanScript.resultTables.map { "DROP TABLE IF EXISTS \(result($0))" }
        s += try ruleTables()
        s += mergeStatements()
        s += identifierStatements()
        s += verdictStatements()
        var results: [String] = []
        results += d.resultTable(result("idaudit_plan"), planSelect)
        results += d.resultTable(result("idaudit_summary"), summarySelect)
        results += d.resultTable(result("idaudit_histogram"), histogramSelect)
        results += d.resultTable(result("idaudit_kept"), keptSelect)
        results += d.resultTable(result("idaudit_offenders"), offendersSelect)
        results += d.resultTable(result("idaudit_caps"), capsSelect)
        if let transaction = d.transaction {
            s.append(transaction.begin)
            s += results
            s.append(transaction.commit)
        } else {
            s += results
        }
        if d.usesWorkTables { s += intermediates.map { "DROP TABLE IF EXISTS \(tmp($0))" } }
        return s
    }

    // MARK: - Rules as data

    func ruleTables() throws(PlanScriptError) -> [String] {
        let t = d.text
        let b = d.bigint
        var limitRows: [[String]] = []
        for (type, limit) in rules.limits.sorted(by: { $0.key < $1.key }) {
            limitRows.append([
                d.literal(type.string), String(limit.limit), limit.frequency.window.map(String.init) ?? "NULL",
                d.literal(limit.frequency.rawValue),
            ])
        }
        var blockedRows: [[String]] = []
        for (index, entry) in rules.blocked.enumerated() {
            let kind: String
            let textValue: String
            switch entry.matcher {
            case .value(let v):
                guard d.canHold(v) else { continue }
                kind = "0"
                textValue = v
            case .pattern(let p):
                kind = "1"
                do {
                    textValue = try PatternTranslation.translate(p.source, for: o.dialect)
                } catch {
                    throw PlanScriptError(message: "\(error)")
                }
            }
            let types: [String?] = entry.types.map { $0.sorted().map { Optional.some($0.string) } } ?? [nil]
            for type in types {
                blockedRows.append([
                    String(index + 1), type.map(d.literal) ?? "NULL", kind, d.literal(textValue),
                    d.literal(entry.summary),
                ])
            }
        }
        // A value the engine's text cannot hold (NUL, on PostgreSQL) matches no identifier there: its row is left out.
        let protectedRows = rules.protected.filter { d.canHold($0.value) }.sorted { ($0.type, $0.value) < ($1.type, $1.value) }.map {
            [d.literal($0.type), d.literal($0.value)]
        }
        return d.temporaryTable(
                tmp("limits"),
                literalTable([("type", t), ("lim", b), ("w", b), ("freq", t)], limitRows))
            + d.temporaryTable(
                tmp("blocked"),
                literalTable([("ord", b), ("type", t), ("is_pattern", b), ("pattern", t), ("summary", t)], blockedRows))
            + d.temporaryTable(tmp("protected"), literalTable([("type", t), ("value", t)], protectedRows))
    }

    /// The blocked patterns, in file order: their place (`ord`), the pattern as this dialect matches it, and the types
    /// they apply to (nil: every type). Translated when the rule tables are written, which refuse what cannot be.
    var blockedPatterns: [(ord: Int, translated: String, types: [String]?)] {
        rules.blocked.enumerated().compactMap { index, entry in
            guard case .pattern(let p) = entry.matcher,
                let translated = try? PatternTranslation.translate(p.source, for: o.dialect)
            else { return nil }
            return (index + 1, translated, entry.types.map { $0.sorted().map(\.string) })
        }
    }

    // MARK: - Rule 1: merges

    func mergeStatements() -> [String] {
        // A graph row an ingest refuses stops the script, naming it; the checks sit in the SEQ every row sorts by.
        let table = "\(o.sourceSchema).id_graph_updates"
        let segment = "\(table): a row of segment ' || \(text("segment_id")) || '"
        var refusals = [
            (isEmpty("segment_id"),
             "\(table): a row with an empty SEGMENT_ID, merged into ' || COALESCE(\(text("canonical_segment_id")), '') || '"),
            (isEmpty("canonical_segment_id"), "\(segment) has an empty CANONICAL_SEGMENT_ID"),
            (isEmpty("seq"), "\(segment) has an empty SEQ"),
            ("NOT \(isInteger(text("seq")))", "\(segment) has SEQ \"' || \(text("seq")) || '\", not an integer"),
            ("NOT \(fits64Bits(text("seq")))", "\(segment) has SEQ \"' || \(text("seq")) || '\", out of range (64 bits)"),
        ]
        if o.graphHasTimestamp {
            let time = emptyAsNull(timeCol)
            refusals.append((
                "\(time) IS NOT NULL AND NOT \(isTime(time))",
                "\(segment) has TIMESTAMP \"' || \(time) || '\", \(Self.notATime)"))
        }
        let graphSeq = refuse(refusals, else: parsedSeq)
        var s: [String] = []
        s += (
            d.temporaryTable(
                tmp("parents"),
                """
                SELECT s, c FROM (
                    SELECT s, c, row_number() OVER (PARTITION BY s ORDER BY seq DESC, \(d.bytes("c")) DESC) AS pick
                    FROM (
                        SELECT \(text("segment_id")) AS s, \(text("canonical_segment_id")) AS c, \(graphSeq) AS seq
                        FROM \(source("id_graph_updates"))
                    ) AS checked
                ) AS g WHERE pick = 1
                """))
        // A pointer is final when it points at a root: a segment with no graph row, or its own parent. Almost every
        // pointer is final from the start; only the others (segments merged into a segment that was merged in
        // turn) go through the rounds, so each round joins a few rows, not the whole graph.
        s += (
            d.temporaryTable(
                tmp("pointers"),
                """
                SELECT a.s AS s, a.c AS c, CASE WHEN b.s IS NULL OR b.c = b.s THEN 1 ELSE 0 END AS final
                FROM \(tmp("parents")) AS a LEFT JOIN \(tmp("parents")) AS b ON b.s = a.c
                """))
        s += d.temporaryTable(tmp("p0"), "SELECT s, c FROM \(tmp("pointers")) WHERE final = 0")
        for round in 1...o.mergeRounds {
            // Pointer jumping: each pending pointer moves to where its target points (a final pointer's target
            // points at itself or nowhere), so the hops a pointer covers double each round.
            s += (
                d.temporaryTable(
                    tmp("p\(round)"),
                    """
                    SELECT a.s AS s, COALESCE(b.c, f.c, a.c) AS c
                    FROM \(tmp("p\(round - 1)")) AS a
                    LEFT JOIN \(tmp("p\(round - 1)")) AS b ON b.s = a.c
                    LEFT JOIN \(tmp("pointers")) AS f ON f.s = a.c AND f.final = 1
                    """))
        }
        s += (
            d.temporaryTable(
                tmp("merged"),
                """
                SELECT s, c FROM \(tmp("pointers")) WHERE final = 1
                UNION ALL SELECT s, c FROM \(tmp("p\(o.mergeRounds)"))
                """))
        // After the rounds every chain of up to 2^rounds merges ends at a root. A pointer that ends anywhere else is
        // on a cycle or on a longer chain (pointer jumping cannot tell them apart within its rounds); the segment
        // named is the byte-smallest such end.
        let hops = 1 << o.mergeRounds
        s.append(
            stopWhenAny(
                d.bytes("a.c"),
                from: "\(tmp("p\(o.mergeRounds)")) AS a JOIN \(tmp("parents")) AS g ON g.s = a.c WHERE g.c <> g.s",
                "merge cycle in \(o.sourceSchema).id_graph_updates: segment ' || culprit || ' is on a chain that never "
                    + "reaches a canonical profile within \(grouped(hops)) merges: a cycle, or a longer chain, which "
                    + "--merge-rounds \(o.mergeRounds + 1) follows up to \(grouped(hops * 2)) merges"))
        return s
    }

    /// `n` with thousands separators, for messages.
    func grouped(_ n: Int) -> String {
        var digits = String(n)
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return digits + out
    }

    /// A statement that stops the script when `from` (a FROM clause, with its WHERE) has any row, naming the
    /// smallest `culprit` in `message` (text after `idaudit: `, an SQL string's inside, where `culprit` is a column).
    func stopWhenAny(_ culprit: String, from: String, _ message: String) -> String {
        """
        SELECT CASE WHEN n > 0 THEN \(d.fail("'idaudit: \(message)'")) END AS failure
        FROM (SELECT MIN(\(culprit)) AS culprit, COUNT(*) AS n FROM \(from)) AS found WHERE n > 0
        """
    }

    /// Whether the column `name` is NULL or empty text.
    func isEmpty(_ name: String) -> String { "(\(name) IS NULL OR \(text(name)) = '')" }

    /// `otherwise` (a BIGINT), unless one of the conditions holds: then the script stops with its message (text
    /// after `idaudit: `, an SQL string's inside).
    func refuse(_ conditions: [(condition: String, message: String)], else otherwise: String) -> String {
        "CASE "
            + conditions.map { "WHEN \($0.condition) THEN \(int(d.fail("'idaudit: \($0.message)'"))) " }.joined()
            + "ELSE \(otherwise) END"
    }

    // MARK: - The store's grammar of times and SEQ

    /// What a time must look like, in the refusal that names a row.
    static let notATime =
        "not a time: expected YYYY-MM-DD HH:MM:SS[.fraction], T or a space between, then nothing (UTC), Z, UTC, GMT "
        + "or an offset +HH:MM, +HHMM or +HH, after a space or not"

    /// The times an ingest reads (``Instant/init(parsing:)``), as one pattern over the whole text: calendar dates
    /// only (February 29 in leap years), hours 00-23, minutes 00-59, seconds 00-60, any number of fraction digits,
    /// and the zones an unload writes. An engine's own cast would round nanoseconds, read named zones, or refuse
    /// offsets after a space: the script reads times itself, the same way on every engine.
    static let timePattern: String = {
        // Years 0001 to 9999 (a time outside them in UTC is refused below, after its offset).
        let year = "([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
        let leap = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26]|0[48])00)"
        let date =
            "(\(year)-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|\(year)-(0[13-9]|1[0-2])-(29|30)"
            + "|\(year)-(0[13578]|1[02])-31|\(leap)-02-29)"
        let time = "([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)([.][0-9]+)?"
        let zone = "( ?(Z|z|UTC|GMT|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?))?"
        return "^" + date + "[ T]" + time + zone
    }()

    /// Whether the text `x` is a time an ingest reads.
    func isTime(_ x: String) -> String { d.search(x, d.literal(Self.timePattern + d.endAnchor)) }

    /// Whether the text `x` is an integer as an ingest reads SEQ: an optional sign, then digits, nothing else.
    func isInteger(_ x: String) -> String { d.search(x, d.literal("^[+-]?[0-9]+" + d.endAnchor)) }

    /// Whether the integer text `x` fits 64 bits, compared as text (a cast out of range is an engine's error that
    /// names no row, or NULL where Spark's ANSI mode is off).
    func fits64Bits(_ x: String) -> String {
        let digits = d.trimLeadingZeros("CASE WHEN SUBSTR(\(x), 1, 1) IN ('+', '-') THEN SUBSTR(\(x), 2) ELSE \(x) END")
        let largest = "CASE WHEN SUBSTR(\(x), 1, 1) = '-' THEN '9223372036854775808' ELSE '9223372036854775807' END"
        return "(LENGTH(\(digits)) < 19 OR (LENGTH(\(digits)) = 19 AND \(digits) <= \(largest)))"
    }

    /// The first and last microsecond a time may have: years 0001 to 9999, UTC (``Instant/range``).
    static let timeRange = Instant.range

    /// SEQ as a number, NULL where it is not an integer (the refusals name such a row before the number is used).
    var parsedSeq: String {
        "CASE WHEN \(isInteger(text("seq"))) THEN CASE WHEN \(fits64Bits(text("seq"))) THEN \(int("seq")) END END"
    }

    /// Microseconds since 1970 of the text `x`, a time ``isTime(_:)`` accepts: the fraction cut (never rounded) to
    /// microseconds, the offset subtracted. Integer arithmetic on the text's fields, the same on every engine.
    func micros(_ x: String) -> String {
        func field(_ from: Int, _ count: Int) -> String { int("SUBSTR(\(x), \(from), \(count))") }
        let (month, hour, minute, second) = (field(6, 2), field(12, 2), field(15, 2), field(18, 2))
        // Days since 1970 (Howard Hinnant's days_from_civil), years counted from March: from year 0001 on, that year
        // is never negative, so every quotient is of non-negative numbers and the 400-year eras need no step of their
        // own (each field is spelled once per use, and engines evaluate every spelling: the fewer, the faster).
        let year = "(\(field(1, 4)) - CASE WHEN \(month) <= 2 THEN 1 ELSE 0 END)"
        let monthFromMarch = "CASE WHEN \(month) > 2 THEN \(month) - 3 ELSE \(month) + 9 END"
        let dayOfYear = "(\(d.quotient("153 * (\(monthFromMarch)) + 2", "5")) + \(field(9, 2)) - 1)"
        let days =
            "(\(year) * 365 + \(d.quotient(year, "4")) - \(d.quotient(year, "100")) + \(d.quotient(year, "400")) "
            + "+ \(dayOfYear) - 719468)"
        // The fraction: the digits after the seconds' point, up to the zone, the first six of them.
        let digits = "(\(d.position(of: "'#'", in: d.translate("SUBSTR(\(x), 21) || '#'", "' ZzUG+-'", "'#######'"))) - 1)"
        let fraction =
            "CASE WHEN SUBSTR(\(x), 20, 1) = '.' THEN \(int("RPAD(SUBSTR(\(x), 21, LEAST(\(digits), 6)), 6, '0')")) ELSE 0 END"
        // The offset: its sign is the only + or - after the seconds; then HH, HHMM or HH:MM.
        let sign = "(19 + \(d.position(of: "'+'", in: d.translate("SUBSTR(\(x), 20)", "'-'", "'+'"))))"
        let offsetMinutes =
            "CASE LENGTH(\(x)) - \(sign) WHEN 4 THEN \(int("SUBSTR(\(x), \(sign) + 3, 2)")) "
            + "WHEN 5 THEN \(int("SUBSTR(\(x), \(sign) + 4, 2)")) ELSE 0 END"
        let offset =
            "CASE WHEN \(sign) = 19 THEN 0 ELSE (CASE WHEN SUBSTR(\(x), \(sign), 1) = '-' THEN -60 ELSE 60 END) * "
            + "(\(int("SUBSTR(\(x), \(sign) + 1, 2)")) * 60 + \(offsetMinutes)) END"
        return int(
            "((\(days) * 86400 + \(hour) * 3600 + \(minute) * 60 + \(second) - (\(offset))) * 1000000 + \(fraction))")
    }

    // MARK: - Rule 2: identifier state

    func identifierStatements() -> [String] {
        // The time of a row: its TIMESTAMP, or when empty its RECEIVED_AT; each read when present, as an ingest
        // reads them, so a malformed one stops the script even beside a good one.
        // (Read once into columns of their own, so that the checks and the arithmetic below name a column.)
        let receivedAt = o.hasReceivedAt ? emptyAsNull("received_at") : "CAST(NULL AS \(d.text))"
        let times = "\(emptyAsNull(timeCol)) AS idaudit_ts, \(receivedAt) AS idaudit_ra, "
            + "COALESCE(\(emptyAsNull(timeCol)), \(receivedAt)) AS idaudit_t"
        let (ts, ra) = ("idaudit_ts", "idaudit_ra")
        // The operation: empty, CREATED or REMOVED in any case, as an ingest takes it (anything else is refused below).
        let operation = text("__operation")
        let removed = o.hasOperation ? "COALESCE(UPPER(\(operation)) = 'REMOVED', 1 = 0)" : "(1 = 0)"
        // A row an ingest refuses stops the script, naming it: an empty ID, segment, type or value, no SEQ or one that
        // is not an integer, an unknown operation, no time or one that is not a time. The checks sit in the time's
        // expression, which every row's sort evaluates.
        let row = "\(o.sourceSchema).external_id_mapping_updates: the row with ID ' || \(text("id")) || '"
        var refusals = [
            (isEmpty("id"),
             "\(o.sourceSchema).external_id_mapping_updates: a row with an empty ID, of segment ' || COALESCE(\(text("segment_id")), '') || '"),
            (isEmpty("segment_id"), "\(row) has an empty SEGMENT_ID"),
            (isEmpty("external_id_type"), "\(row) has an empty EXTERNAL_ID_TYPE"),
            (isEmpty("external_id_value"), "\(row) has an empty EXTERNAL_ID_VALUE"),
            (isEmpty("seq"), "\(row) has an empty SEQ"),
        ]
        if o.hasOperation {
            refusals.append((
                "\(operation) IS NOT NULL AND \(operation) <> '' AND UPPER(\(operation)) NOT IN ('CREATED', 'REMOVED')",
                "\(row) has __operation \"' || \(operation) || '\"; expected CREATED, REMOVED or empty"))
        }
        refusals.append(("NOT \(isInteger(text("seq")))", "\(row) has SEQ \"' || \(text("seq")) || '\", not an integer"))
        refusals.append((
            "NOT \(fits64Bits(text("seq")))", "\(row) has SEQ \"' || \(text("seq")) || '\", out of range (64 bits)"))
        refusals.append(("\(ts) IS NOT NULL AND NOT \(isTime(ts))", "\(row) has TIMESTAMP \"' || \(ts) || '\", \(Self.notATime)"))
        if o.hasReceivedAt {
            refusals.append((
                "\(ra) IS NOT NULL AND NOT \(isTime(ra))", "\(row) has RECEIVED_AT \"' || \(ra) || '\", \(Self.notATime)"))
        }
        let empty = o.hasReceivedAt ? "timestamp and received_at are both empty" : "timestamp is empty"
        refusals.append(("\(ts) IS NULL AND \(ra) IS NULL", "\(row) has no time: \(empty)"))
        let t = refuse(refusals, else: micros("idaudit_t"))
        // One statement, no intermediate table: the copies of a row (one kept per ID), then each identifier's rows
        // in rule 2's order (SEQ, ID bytes), read once in that order for the last row and the last REMOVED one.
        let order = "seq, \(d.bytes("id"))"
        let all = "PARTITION BY type, value ORDER BY \(order) ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
        return d.temporaryTable(
            tmp("active"),
            """
            SELECT type, value, first_seen, seq, segment_id FROM (
                SELECT type, value, t AS first_seen, seq, pos,
                    COALESCE(MAX(CASE WHEN removed THEN pos END) OVER (\(all)), 0) AS last_removed,
                    LAST_VALUE(segment_id) OVER (\(all)) AS segment_id,
                    LAST_VALUE(CASE WHEN removed THEN 1 ELSE 0 END) OVER (\(all)) AS last_is_removed
                FROM (
                    SELECT type, value, t, seq, id, segment_id, removed,
                        row_number() OVER (PARTITION BY type, value ORDER BY \(order)) AS pos
                    FROM (
                        SELECT type, value, id, seq, segment_id, t, removed,
                            row_number() OVER (PARTITION BY type, value, id
                                ORDER BY seq DESC, CASE WHEN removed THEN 1 ELSE 0 END DESC, t DESC,
                                    \(d.bytes("segment_id")) DESC) AS copy
                        FROM (
                            SELECT type, value, id, seq, segment_id,
                                CASE WHEN t < \(Self.timeRange.lowerBound) OR t > \(Self.timeRange.upperBound)
                                    THEN \(int(d.fail("'idaudit: \(row) has a time outside the years 0001 to 9999 (UTC)'")))
                                    ELSE t END AS t,
                                removed
                            FROM (
                                SELECT \(text("external_id_type")) AS type, \(text("external_id_value")) AS value,
                                    \(text("id")) AS id, \(parsedSeq) AS seq, \(text("segment_id")) AS segment_id,
                                    \(t) AS t, \(removed) AS removed
                                FROM (
                                    SELECT id, segment_id, external_id_type, external_id_value, seq,
                                        \(o.hasOperation ? "__operation, " : "")\(times)
                                    FROM \(source("external_id_mapping_updates"))
                                ) AS timed
                            ) AS parsed
                        ) AS raw
                    ) AS deduplicated WHERE copy = 1
                ) AS ordered
            ) AS marked
            WHERE pos = last_removed + 1 AND last_is_removed = 0
            """)
    }

    // MARK: - Rules 3 to 7

    /// Oldest first: (first_seen, seq, value bytes).
    func oldestFirst(_ prefix: String = "", descending: Bool = false) -> String {
        let dir = descending ? " DESC" : ""
        return "\(prefix)first_seen\(dir), \(prefix)seq\(dir), \(d.bytes(prefix + "value"))\(dir)"
    }

    var defaultLimit: (lim: String, w: String, freq: String) {
        guard let def = rules.defaultLimit else { return ("NULL", "NULL", "NULL") }
        return (String(def.limit), def.frequency.window.map(String.init) ?? "NULL", d.literal(def.frequency.rawValue))
    }

    func verdictStatements() -> [String] {
        let def = defaultLimit
        var s: [String] = []
        // Blocked values by an equi-join on the value; each blocked pattern as a constant of its own select: an
        // engine compiles a constant pattern once, one read from a column once per row (DuckDB: 27 s of a 1 M-profile
        // scan went to matching one pattern against 7.3 M values that way, 0.2 s as a constant).
        var hits = [
            """
            SELECT a.type AS type, a.value AS value, b.ord AS ord
            FROM \(tmp("active")) AS a JOIN \(tmp("blocked")) AS b ON b.pattern = a.value
            WHERE b.is_pattern = 0 AND (b.type IS NULL OR b.type = a.type)
            """
        ]
        for pattern in blockedPatterns {
            // A type this engine's text cannot hold (NUL, on PostgreSQL) names no identifier there.
            let held = pattern.types?.filter(d.canHold)
            if held?.isEmpty == true { continue }
            let types = held.map { " AND a.type IN (\($0.map(d.literal).joined(separator: ", ")))" } ?? ""
            hits.append(
                """
                SELECT a.type AS type, a.value AS value, \(int(String(pattern.ord))) AS ord
                FROM \(tmp("active")) AS a WHERE \(d.search("a.value", d.literal(pattern.translated)))\(types)
                """)
        }
        s += (
            d.temporaryTable(
                tmp("hits"),
                """
                SELECT type, value, MIN(ord) AS ord FROM (
                \(hits.joined(separator: "\nUNION ALL\n"))
                ) AS matches
                GROUP BY type, value
                """))
        // Every active identifier with its rules, and, for the candidates (not blocked) of each profile and type,
        // their place oldest first and the counts the ever limits need: one table, so no identifier is joined
        // back to its candidate row. Every window is over (profile, type), candidates first, then oldest first: one
        // sort serves them all (a blocked identifier's place is then after the candidates', where none reads it but
        // the histogram of a group with no candidate, whose first blocked one is still first).
        let candidate = "CASE WHEN matched IS NULL THEN 1 ELSE 0 END"
        let placed = "PARTITION BY profile, type ORDER BY \(candidate) DESC, \(oldestFirst())"
        s += (
            d.temporaryTable(
                tmp("ids"),
                """
                SELECT profile, type, value, first_seen, seq, prot, matched, lim, w, freq,
                    \(candidate) AS cand,
                    row_number() OVER (\(placed)) AS cpos,
                    COUNT(*) OVER (PARTITION BY profile, type) AS n,
                    SUM(\(candidate)) OVER (PARTITION BY profile, type) AS ccount,
                    SUM(prot) OVER (PARTITION BY profile, type) AS pcount,
                    row_number() OVER (\(placed))
                        - SUM(prot) OVER (\(placed) ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS npos
                FROM (
                    SELECT COALESCE(j.c, a.segment_id) AS profile, a.type AS type, a.value AS value,
                        a.first_seen AS first_seen, a.seq AS seq,
                        CASE WHEN p.value IS NULL THEN 0 ELSE 1 END AS prot,
                        CASE WHEN p.value IS NULL THEN bl.summary END AS matched,
                        CASE WHEN l.type IS NULL THEN \(int(def.lim)) ELSE l.lim END AS lim,
                        CASE WHEN l.type IS NULL THEN \(int(def.w)) ELSE l.w END AS w,
                        CASE WHEN l.type IS NULL THEN \(text(def.freq)) ELSE l.freq END AS freq
                    FROM \(tmp("active")) AS a
                    LEFT JOIN \(tmp("merged")) AS j ON j.s = a.segment_id
                    LEFT JOIN \(tmp("protected")) AS p ON p.type = a.type AND p.value = a.value
                    LEFT JOIN \(tmp("hits")) AS h ON h.type = a.type AND h.value = a.value
                    LEFT JOIN (SELECT ord, MIN(summary) AS summary FROM \(tmp("blocked")) GROUP BY ord) AS bl
                        ON bl.ord = h.ord
                    LEFT JOIN \(tmp("limits")) AS l ON l.type = a.type
                ) AS resolved
                """))
        s += windowedStatements
        // The verdicts of the groups that can have a plan line (a blocked value, or more candidates than the
        // limit) and of every user_id (the lookup): the other groups are all kept, and most profiles are clean.
        s += (
            d.temporaryTable(
                tmp("verdicts"),
                """
                SELECT i.profile AS profile, i.type AS type, i.value AS value, i.first_seen AS first_seen, i.seq AS seq,
                    CASE
                        WHEN i.prot = 1 THEN 'protected'
                        WHEN i.matched IS NOT NULL THEN 'blocked'
                        WHEN i.w IS NULL AND i.lim IS NOT NULL
                            AND i.npos <= (i.ccount - i.pcount) - GREATEST(0, i.lim - i.pcount) THEN 'excess'
                        WHEN e.cpos IS NOT NULL THEN 'excess'
                        ELSE 'kept'
                    END AS status,
                    i.matched AS matched, i.lim AS lim, i.freq AS freq
                FROM \(tmp("ids")) AS i
                LEFT JOIN \(tmp("windowed")) AS e ON e.profile = i.profile AND e.type = i.type AND e.cpos = i.cpos
                    AND i.cand = 1
                WHERE i.type = 'user_id' OR i.n > i.ccount OR i.ccount > i.lim
                """))
        s += (
            d.temporaryTable(
                tmp("lookup"),
                """
                SELECT profile, value AS lookup FROM (
                    SELECT profile, value,
                        row_number() OVER (PARTITION BY profile ORDER BY \(oldestFirst(descending: true))) AS newest
                    FROM \(tmp("verdicts")) WHERE type = 'user_id' AND status IN ('kept', 'protected')
                ) AS u WHERE newest = 1
                """))
        s += (
            d.temporaryTable(
                tmp("lines"),
                """
                SELECT v.profile AS profile, v.type AS type, v.value AS value,
                    CASE WHEN v.status = 'blocked' THEN 'blocked' ELSE 'limit' END AS reason,
                    row_number() OVER (PARTITION BY v.profile, v.type ORDER BY \(oldestFirst("v."))) AS rnk,
                    COALESCE(u.lookup, '') AS lookup,
                    CASE WHEN u.lookup IS NOT NULL AND u.lookup <> '' AND v.type <> 'group_id' THEN 1 ELSE 0 END AS remediable,
                    v.first_seen AS first_seen, v.seq AS seq,
                    CASE WHEN v.status = 'excess' THEN v.lim END AS lim,
                    CASE WHEN v.status = 'excess' THEN v.freq END AS freq,
                    CASE WHEN v.status = 'blocked' THEN v.matched END AS matched
                FROM \(tmp("verdicts")) AS v LEFT JOIN \(tmp("lookup")) AS u ON u.profile = v.profile
                WHERE v.status IN ('blocked', 'excess')
                """))
        return s
    }

    /// Whether any limit (or the default) has a window.
    var hasWindows: Bool {
        rules.limits.values.contains { $0.frequency.window != nil } || rules.defaultLimit?.frequency.window != nil
    }

    /// The statements that make `windowed`: (profile, type, cpos) of each evicted candidate.
    var windowedStatements: [String] {
        guard hasWindows else {
            // Every limit is `ever`: no walk, and no fold for the engine to compile.
            return d.temporaryTable(tmp("windowed"), "SELECT profile, type, cpos FROM \(tmp("ids")) WHERE 1 = 0")
        }
        return d.windowedStatements(
            WindowFold(
                ids: tmp("ids"), windowed: tmp("windowed"), table: { [self] in tmp($0) },
                stopWhenAny: { [self] column, from, message in stopWhenAny(column, from: from, message) }))
    }

    // MARK: - Results

    var stampTime: String {
        o.generatedAt.map { d.literal($0.description) } ?? d.planTime(d.nowMicros)
    }

    var planSelect: String {
        """
        SELECT profile AS segment_id, type, value, reason, CAST(rnk AS \(d.bigint)) AS rank, lookup AS lookup_user_id,
            CASE WHEN remediable = 1 THEN 'true' ELSE 'false' END AS remediable,
            \(d.planTime("first_seen")) AS first_seen, seq,
            COALESCE(\(text("lim")), '') AS \(d.column("limit")), COALESCE(freq, '') AS frequency,
            COALESCE(matched, '') AS matched,
            \(text(stampTime)) AS generated_at, \(text(d.literal(rules.sha256))) AS rules_sha256
        FROM \(tmp("lines"))
        """
    }

    var summarySelect: String {
        """
        SELECT 'profiles' AS metric, CAST(NULL AS \(d.text)) AS type, CAST(NULL AS \(d.text)) AS reason,
            COUNT(DISTINCT profile) AS count, CAST(NULL AS \(d.bigint)) AS remediable FROM \(tmp("ids"))
        UNION ALL SELECT 'active_identifiers', NULL, NULL, COUNT(*), NULL FROM \(tmp("ids"))
        UNION ALL SELECT 'profiles_in_violation', NULL, NULL, COUNT(DISTINCT profile), NULL FROM \(tmp("lines"))
        UNION ALL SELECT 'excess', type, reason, COUNT(*), SUM(remediable) FROM \(tmp("lines")) GROUP BY type, reason
        """
    }

    var histogramSelect: String {
        // One row per profile and type: its first candidate (or, with none, its first blocked identifier) carries
        // the number of candidates, which is what counts toward the limit.
        """
        SELECT type, ccount AS counted, COUNT(*) AS profiles
        FROM \(tmp("ids")) WHERE cpos = 1 AND (cand = 1 OR ccount = 0)
        GROUP BY type, ccount
        """
    }

    var keptSelect: String {
        """
        SELECT v.profile AS segment_id, v.type AS type, v.value AS value, v.first_seen AS first_seen, v.seq AS seq
        FROM \(tmp("verdicts")) AS v
        JOIN (SELECT DISTINCT profile, type FROM \(tmp("lines"))) AS g ON g.profile = v.profile AND g.type = v.type
        WHERE v.status IN ('kept', 'protected')
        """
    }

    var offendersSelect: String {
        """
        SELECT i.profile AS segment_id, i.type AS type, i.value AS value, i.first_seen AS first_seen, i.seq AS seq
        FROM \(tmp("ids")) AS i JOIN (
            SELECT profile FROM (
                SELECT profile, row_number() OVER (ORDER BY COUNT(*) DESC, \(d.bytes("profile"))) AS place
                FROM \(tmp("lines")) GROUP BY profile
            ) AS ranked WHERE place <= \(PlanScript.offenders)
        ) AS top ON top.profile = i.profile
        """
    }

    /// The profiles at or near Segment's system caps, whatever the rules say: segments merged into each canonical
    /// profile (its own excepted) and active identifiers per profile, from 90% of the cap (the rules' `caps:`).
    var capsSelect: String {
        let merges = SystemCaps.nearThreshold(rules.caps.merges)
        let mappings = SystemCaps.nearThreshold(rules.caps.mappings)
        return """
            SELECT 'merges' AS cap, c AS profile, COUNT(*) AS n
            FROM \(tmp("merged")) WHERE s <> c GROUP BY c HAVING COUNT(*) >= \(merges)
            UNION ALL
            SELECT 'mappings' AS cap, profile, COUNT(*) AS n
            FROM \(tmp("ids")) GROUP BY profile HAVING COUNT(*) >= \(mappings)
            """
    }
}
