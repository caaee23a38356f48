import Foundation
import IDAuditCore
import IDAuditRules
import IDAuditSQL
import IDAuditTestSupport
@testable import IDAuditWarehouse
import PostgresNIO
import Testing

/// Issue 11: ICU patterns become each engine's regular expressions with the same matches, or are refused.
struct PatternTranslationTests {
    static let patterns = [
        "^[0-]*$", "^-1$", "null", "^(null|none)$", "a.c", "^[^@]+@example\\.com$", "x{2,3}", "^abc", "colou?r",
        "[a-c]+z$", "\\.", "a+?b", "(?:ab)+$", "^$", "^[]a]+$", "^[a-]+$", "^[x^]+$",
    ]
    static let values = [
        "", "0", "00-0", "-1", "null", "none", "nul", "abc", "a\nc", "a\u{2028}c", "a\u{0B}c", "axc", "123", "\u{663}",
        "bob@example.com", "bob@exampleXcom", "xx", "xxxx", "color", "colour", "abz", "abz\n", "abz\r\n", "abz\u{85}",
        "abz\n\n", "abz\u{0C}", "ab", "abab", "a.b", "0\n", "-1\r", "]a", "a-", "^x", "null\u{2029}", " null",
    ]

    @Test(arguments: [
        ("\\w+", "the escape \\w"), ("(?i)null", "inline flags"), ("a(?=b)", "look-around"), ("\\bfoo", "the escape \\b"),
        ("[[:alpha:]]", "POSIX classes"), ("[a-z&&[^x]]", "set operations"), ("a$b", "$ is only accepted at the end"),
        ("(a)\\1", "the escape \\1"), ("a*+", "possessive"), ("[\\d]", "inside a class"),
    ])
    func unportableSyntaxIsRefusedWithTheReason(_ pattern: String, _ reason: String) {
        for dialect in SQLDialect.allCases {
            #expect {
                try PatternTranslation.translate(pattern, for: dialect)
            } throws: { error in
                let text = "\(error)"
                return text.contains("blocked pattern \"\(pattern)\" cannot run on \(dialect.displayName)")
                    && text.contains(reason)
            }
        }
    }

    /// Issue 18: RE2's and Java's `\p{Nd}` follow older Unicode versions than ICU's (U+16D71 and U+1E4F1 are digits
    /// to ICU only): `\d` is refused on every engine, never translated to a near miss.
    @Test func aDigitClassIsRefusedOnEveryEngine() throws {
        for dialect in SQLDialect.allCases {
            #expect {
                try PatternTranslation.translate("^\\d+$", for: dialect)
            } throws: { "\($0)".contains("write [0-9] for ASCII digits") }
        }
        #expect(try PatternTranslation.translate("^[0-9]+$", for: .spark) == "^[0-9]+(\r\n|[\n\u{0B}\u{0C}\r\u{85}\u{2028}\u{2029}])?\\z")
    }

    @Test func aRefusalShowsControlCharactersAsEscapes() {
        #expect {
            try PatternTranslation.translate("a\u{0}\\w", for: .duckdb)
        } throws: { "\($0)".contains("blocked pattern \"a\\u{0}\\w\"") }
    }

    @Test func aFinalDollarAcceptsOneTrailingLineTerminatorAsICUDoes() throws {
        let translated = try PatternTranslation.translate("^a.c$", for: .postgres)
        #expect(translated == "^a[^\n\u{0B}\u{0C}\r\u{85}\u{2028}\u{2029}]c(\r\n|[\n\u{0B}\u{0C}\r\u{85}\u{2028}\u{2029}])?$")
    }

    /// What ICU answers, and what an engine answers for the translated pattern, for every pattern and value.
    static func disagreements(_ dialect: SQLDialect, engine: ([(pattern: String, value: String)]) throws -> [Bool])
        throws -> [String]
    {
        var cases: [(String, String)] = []
        var expected: [Bool] = []
        for pattern in patterns where (try? PatternTranslation.translate(pattern, for: dialect)) != nil {
            let icu = try CompiledPattern(pattern)
            let translated = try PatternTranslation.translate(pattern, for: dialect)
            for value in values {
                cases.append((translated, value))
                expected.append(icu.matchesWithICU(value))
            }
        }
        let answers = try engine(cases)
        guard answers.count == cases.count else { return ["the engine answered \(answers.count) of \(cases.count) cases"] }
        return zip(zip(cases, expected), answers).compactMap { item, answer in
            item.1 == answer ? nil : "\(item.0.0.debugDescription) on \(item.0.1.debugDescription): ICU \(item.1)"
        }
    }

    /// The engine's answers, from a Python `program` reading the cases (pattern, value) from the JSON file named by
    /// its first argument and printing a JSON list of booleans.
    static func pythonAnswers(_ cases: [(pattern: String, value: String)], program: String, in dir: TemporaryDirectory)
        throws -> [Bool]
    {
        let input = dir.file("cases.json")
        try JSONSerialization.data(withJSONObject: cases.map { [$0.pattern, $0.value] }).write(to: URL(fileURLWithPath: input))
        let script = dir.file("run.py")
        try program.write(toFile: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, input]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let answer = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONSerialization.jsonObject(with: answer) as? [Bool] ?? []
    }

    @Test(.enabled(if: TestEngines.duckdb, "pip install duckdb to run"))
    func duckdbMatchesWhatICUMatches() throws {
        let dir = try TemporaryDirectory("patterns-duckdb")
        let wrong = try Self.disagreements(.duckdb) { cases in
            try Self.pythonAnswers(
                cases,
                program: """
                    import duckdb, json, sys
                    cases = json.load(open(sys.argv[1]))
                    con = duckdb.connect()
                    print(json.dumps([bool(con.execute("SELECT regexp_matches(?, ?)", [v, p]).fetchone()[0]) for p, v in cases]))
                    """, in: dir)
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test(.enabled(if: TestEngines.clickhouse, "pip install chdb to run"))
    func clickhouseMatchesWhatICUMatches() throws {
        let dir = try TemporaryDirectory("patterns-clickhouse")
        let wrong = try Self.disagreements(.clickhouse) { cases in
            // Each pattern and value as the hex of its UTF-8, so no quoting stands between them and the engine.
            try Self.pythonAnswers(
                cases,
                program: """
                    import json, sys
                    from chdb import session
                    cases = json.load(open(sys.argv[1]))
                    hexes = lambda texts: "[" + ", ".join("unhex('%s')" % t.encode("utf-8").hex() for t in texts) + "]"
                    sql = ("SELECT arrayMap(i -> match(vs[i], ps[i]), arrayEnumerate(ps)) FROM (SELECT %s AS ps, %s AS vs)"
                           % (hexes([p for p, v in cases]), hexes([v for p, v in cases])))
                    answer = str(session.Session().query(sql, "JSONEachRow"))
                    print(json.dumps([bool(m) for m in list(json.loads(answer).values())[0]]))
                    """, in: dir)
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test(.enabled(if: TestEngines.postgres, "set IDAUDIT_TEST_PG_URL to run"))
    func postgresMatchesWhatICUMatches() async throws {
        var collected: [(pattern: String, value: String)] = []
        _ = try Self.disagreements(.postgres) { all in
            collected = all
            return all.map { _ in false }
        }
        let cases = collected.map { [$0.pattern, $0.value] }
        let answers = try await WarehouseReader(configuration: try TestEngines.pg(schema: "public")).withSession {
            connection, logger in
            var out: [Bool] = []
            for c in cases {
                let rows = try await connection.query("SELECT \(c[1]) ~ \(c[0])", logger: logger)
                for try await value in rows.decode(Bool.self) { out.append(value) }
            }
            return out
        }
        let wrong = try Self.disagreements(.postgres) { _ in answers }
        #expect(wrong.isEmpty, "\(wrong)")
    }
}

/// Issue 11: scripts for the engines that cannot run here (Snowflake, BigQuery, Redshift) are written whole, with
/// their dialect's constructs; what each does is checked by the engines that run here on the same generator.
struct ScriptTextTests {
    static let windows = try! RulesLoader.parse(
        """
        default: {limit: 5, frequency: ever}
        identifiers:
          user_id: {limit: 1}
          anonymous_id: {limit: 5, frequency: weekly}
        blocked:
          - pattern: "^[0-]*$"
          - value: "it's"
        protected:
          - {type: email, value: ceo@x.com}
        """, file: "r.yaml")

    func script(_ dialect: SQLDialect, rules: RuleSet = windows) throws -> String {
        try PlanScript(
            rules: rules, options: PlanScript.Options(dialect: dialect, sourceSchema: "PROFILES_SYNC", targetSchema: "IDAUDIT")
        ).text
    }

    @Test func snowflakeFoldsWithReduceAndReadsUpperCaseColumns() throws {
        let text = try script(.snowflake)
        #expect(text.contains("REDUCE("))
        #expect(text.contains("\"TIMESTAMP\""))
        #expect(text.contains("REGEXP_INSTR("))
        #expect(text.contains("ALTER SESSION SET TIMEZONE = 'UTC'"))
        #expect(text.contains("ALTER SESSION SET TIMESTAMP_TZ_OUTPUT_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZHTZM'"))
        #expect(text.contains("'it''s'"))
        #expect(text.contains("CREATE OR REPLACE TABLE IDAUDIT.idaudit_plan AS"))
    }

    @Test func bigqueryFoldsWithAJavaScriptFunction() throws {
        let text = try script(.bigquery)
        #expect(text.contains("CREATE TEMP FUNCTION idaudit_walk"))
        #expect(text.contains("LANGUAGE js"))
        #expect(text.contains("REGEXP_CONTAINS("))
        #expect(text.contains("'it\\'s'"))
        #expect(text.contains("UNIX_MICROS("))
    }

    @Test func redshiftWalksWindowsWithARecursiveCTE() throws {
        let text = try script(.redshift)
        #expect(text.contains("CREATE TEMPORARY TABLE idaudit_t_steps"))
        #expect(text.contains("WITH RECURSIVE walk (profile, type, i, state, victim)"))
        #expect(text.contains("ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"))
        #expect(text.contains("more than 65535 values of one type under a windowed limit"))
        #expect(!text.contains("idaudit_walk"))
    }

    @Test func everyDialectWritesEveryResultTableAndStampsThePlan() throws {
        for dialect in SQLDialect.allCases {
            let text = try script(dialect)
            for table in PlanScript.resultTables { #expect(text.contains("IDAUDIT.\(table)"), "\(dialect) \(table)") }
            #expect(text.contains("AS generated_at"))
            #expect(text.contains(Self.windows.sha256))
        }
    }

    @Test(arguments: ["bad schema", "a;drop", "", "x.y.z.w"])
    func aSchemaThatIsNotAPlainNameIsRefused(_ schema: String) {
        #expect(throws: PlanScriptError.self) {
            try PlanScript(rules: Self.windows, options: PlanScript.Options(dialect: .duckdb, sourceSchema: schema, targetSchema: "t"))
        }
    }
}
