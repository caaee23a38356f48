/// BigQuery (GoogleSQL).
public struct BigQuery: Dialect {
    public init() {}

    public var displayName: String { "BigQuery" }
    public var text: String { "STRING" }
    public var bigint: String { "INT64" }

    public func literal(_ value: String) -> String {
        Literal.escaped(value, quote: "\\'", escape: Literal.codePoint)
    }

    public func column(_ name: String) -> String { "`\(name)`" }
    public func pmod(_ a: String, _ b: String) -> String { "MOD(MOD(\(a), \(b)) + \(b), \(b))" }
    public func floorDiv(_ a: String, _ b: String) -> String { "DIV(\(a) - \(pmod(a, b)), \(b))" }
    /// Project ids hold hyphens.
    public var schemaNamesMayHoldHyphens: Bool { true }

    public func quotient(_ a: String, _ b: String) -> String { "DIV((\(a)), (\(b)))" }
    public var nowMicros: String { "UNIX_MICROS(CURRENT_TIMESTAMP())" }
    public func isoSeconds(_ seconds: String) -> String {
        "FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%S', TIMESTAMP_SECONDS(\(seconds)))"
    }

    public func search(_ value: String, _ pattern: String) -> String { "REGEXP_CONTAINS(\(value), \(pattern))" }
    public func fail(_ message: String) -> String { "ERROR(\(message))" }

    public func temporaryTable(_ name: String, _ select: String) -> [String] {
        ["CREATE TEMP TABLE \(name) AS\n\(select)"]
    }
    public func resultTable(_ table: String, _ select: String) -> [String] {
        ["CREATE OR REPLACE TABLE \(table) AS\n\(select)"]
    }
    /// BigQuery refuses table DDL in a transaction.
    public var transaction: (begin: String, commit: String)? { nil }

    /// The fold, a JavaScript function over each group's arrays.
    public func windowedEvictions(_ fold: WindowFold) -> String {
        """
        SELECT profile, type, CAST(evicted AS INT64) AS cpos FROM (
            SELECT profile, type, idaudit_walk(
                ARRAY_AGG(CAST(first_seen AS FLOAT64) ORDER BY cpos), ARRAY_AGG(prot = 1 ORDER BY cpos),
                CAST(MAX(w) AS FLOAT64), CAST(MAX(lim) AS FLOAT64)) AS evicted_list
            \(fold.groups)
        ) AS folded, UNNEST(evicted_list) AS evicted
        """
    }

    public var walkFunction: [String] {
        [
            """
            CREATE TEMP FUNCTION idaudit_walk(t ARRAY<FLOAT64>, p ARRAY<BOOL>, w FLOAT64, lim FLOAT64)
            RETURNS ARRAY<FLOAT64> LANGUAGE js AS r\"\"\"
              const kept = [], evicted = [];
              for (let i = 0; i < t.length; i++) {
                kept.push(i);
                let first = kept.length - 1;
                while (first > 0 && t[kept[first - 1]] > t[i] - w) first--;
                let inWindow = kept.length - first;
                while (inWindow > lim) {
                  let victim = -1;
                  for (let j = first; j < kept.length; j++) if (!p[kept[j]]) { victim = j; break; }
                  if (victim < 0) break;
                  evicted.push(kept[victim] + 1);
                  kept.splice(victim, 1);
                  inWindow--;
                }
              }
              return evicted;
            \"\"\"
            """
        ]
    }
}
