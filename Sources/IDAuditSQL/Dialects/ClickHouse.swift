/// ClickHouse (run here in process by `chdb`, the ClickHouse engine as a Python package).
///
/// What differs from standard SQL, each measured on ClickHouse 26.9: columns are not nullable unless their type says
/// so (every text and integer is `Nullable`), an outer join's missing side is a default value unless `join_use_nulls`
/// is set, an alias shadows the column of its name in its own `SELECT` unless `prefer_column_name_to_alias` is set, `/` divides as floating point, a `CASE` evaluates every branch unless short-circuit evaluation is forced
/// (a branch that stops the script would stop it for every row), `throwIf` takes only a constant message, a join's
/// `ON` holds only equalities, and `DateTime64` stops at the year 2299 (times are printed by arithmetic).
package struct ClickHouse: Dialect {
    package init() {}

    package var displayName: String { "ClickHouse" }
    package var text: String { "Nullable(String)" }
    package var bigint: String { "Nullable(Int64)" }

    /// Backslash escapes; any byte outside printable ASCII as `\xHH` (a literal is bytes: the UTF-8 of `value`).
    package func literal(_ value: String) -> String {
        Literal.escaped(value, quote: "\\'") { s in String(s).utf8.map { "\\x" + Literal.hex(UInt32($0), 2) }.joined() }
    }

    package func column(_ name: String) -> String { "`\(name)`" }
    package func floorDiv(_ a: String, _ b: String) -> String { "intDiv((\(a)) - \(pmod(a, b)), \(b))" }
    package func quotient(_ a: String, _ b: String) -> String { "intDiv(\(a), \(b))" }

    package var sessionSetup: [String] {
        [
            "SET join_use_nulls = 1", "SET short_circuit_function_evaluation = 'force_enable'",
            "SET prefer_column_name_to_alias = 1", "SET session_timezone = 'UTC'",
        ]
    }
    package func position(of needle: String, in haystack: String) -> String { "position(\(haystack), \(needle))" }
    package func trimLeadingZeros(_ text: String) -> String { "TRIM(LEADING '0' FROM \(text))" }
    /// Function names are case-sensitive here, and `TRANSLATE` has no upper-case alias.
    package func translate(_ text: String, _ from: String, _ to: String) -> String {
        "translate(\(text), \(from), \(to))"
    }
    package var nowMicros: String { "toUnixTimestamp64Micro(now64(6))" }

    /// Civil time from seconds by arithmetic (H. Hinnant's `civil_from_days`): `DateTime64` holds only 1900 to 2299.
    /// Each intermediate is bound once by a one-element `arrayMap` (a written-out expression repeats its parts at
    /// every use and grew so large that ClickHouse took 90 s to analyse it).
    package func isoSeconds(_ seconds: String) -> String {
        func bind(_ name: String, _ value: String, _ body: String) -> String {
            "arrayMap(\(name) -> \(body), [\(value)])[1]"
        }
        func pad(_ e: String, _ n: Int) -> String { "leftPad(toString(\(e)), \(n), '0')" }
        let text =
            "concat(\(pad("yoe + era * 400 + if(m <= 2, 1, 0)", 4)), '-', \(pad("m", 2)), '-', "
            + "\(pad("doy - intDiv(153 * mp + 2, 5) + 1", 2)), 'T', \(pad("intDiv(sec, 3600)", 2)), ':', "
            + "\(pad("intDiv(sec % 3600, 60)", 2)), ':', \(pad("sec % 60", 2)))"
        return bind(
            "s", seconds,
            bind(
                "sec", pmod("s", "86400"),
                bind(
                    "z", "intDiv(s - sec, 86400) + 719468",
                    bind(
                        "era", floorDiv("z", "146097"),
                        bind(
                            "doe", "z - era * 146097",
                            bind(
                                "yoe", "intDiv(doe - intDiv(doe, 1460) + intDiv(doe, 36524) - intDiv(doe, 146096), 365)",
                                bind(
                                    "doy", "doe - (365 * yoe + intDiv(yoe, 4) - intDiv(yoe, 100))",
                                    bind("mp", "intDiv(5 * doy + 2, 153)", bind("m", "if(mp < 10, mp + 3, mp - 9)", text)))
                            ))))))
    }

    package func search(_ value: String, _ pattern: String) -> String { "match(\(value), \(pattern))" }

    /// A cast that cannot succeed, whose error quotes `message`: `throwIf` takes only constant messages. The runner
    /// reads the message back out of the quoted text.
    package func fail(_ message: String) -> String { "CAST(concat('idaudit-stop:', \(message)) AS Int64)" }

    package var joinsOnEqualitiesOnly: Bool { true }

    package func createSchemaIfMissing(_ name: String) -> String { "CREATE DATABASE IF NOT EXISTS \(name)" }
    package func temporaryTable(_ name: String, _ select: String) -> [String] {
        ["CREATE TEMPORARY TABLE \(name) ENGINE = Memory AS\n\(select)"]
    }
    package func resultTable(_ table: String, _ select: String) -> [String] {
        ["DROP TABLE IF EXISTS \(table)", "CREATE TABLE \(table) ENGINE = MergeTree ORDER BY tuple() AS\n\(select)"]
    }
    /// ClickHouse has no transactions over DDL.
    package var transaction: (begin: String, commit: String)? { nil }

    /// The fold: `arrayFold` over each group's candidates as tuples (number, time, protected, window, limit).
    package func windowedEvictions(_ fold: WindowFold) -> String {
        let position = ["n": 1, "t": 2, "p": 3, "w": 4, "l": 5, "k": 1, "e": 2]
        return LambdaSpelling(
            lambda: { $0.count == 1 ? "\($0[0]) -> \($1)" : "(\($0.joined(separator: ", "))) -> \($1)" },
            filter: { "arrayFilter(\($1), \($0))" },
            append: { "arrayPushBack(\($0), assumeNotNull(\($1)))" },
            size: { "length(\($0))" },
            field: { "\($0).\(position[$1] ?? 0)" },
            firstNumber: { "arrayFirstOrNull(\($1), \($0)).1" },
            accumulator: { "tuple(\($0), \($1))" },
            choose: { "if(\($0),\n        \($1),\n        \($2))" },
            candidates: """
                arraySort(e -> e.1, groupArray(tuple(toInt64(cpos), assumeNotNull(first_seen), prot = 1,
                        assumeNotNull(w), assumeNotNull(lim))))
                """,
            empty: "tuple(CAST([] AS Array(Tuple(Int64, Int64, Bool, Int64, Int64))), CAST([] AS Array(Int64)))",
            reduce: { "arrayFold(\($2),\n        \($0),\n        \($1)).2" },
            explode: { "SELECT profile, type, arrayJoin(evicted) AS cpos FROM (\n\($0)\n) AS folded" }
        ).evictions(fold)
    }
}
