/// BigQuery (GoogleSQL).
package struct BigQuery: Dialect {
    package init() {}

    package var displayName: String { "BigQuery" }
    package var text: String { "STRING" }
    package var bigint: String { "INT64" }

    package func literal(_ value: String) -> String {
        Literal.escaped(value, quote: "\\'", escape: Literal.codePoint)
    }

    package func column(_ name: String) -> String { "`\(name)`" }
    package func pmod(_ a: String, _ b: String) -> String { "MOD(MOD(\(a), \(b)) + \(b), \(b))" }
    package func floorDiv(_ a: String, _ b: String) -> String { "DIV(\(a) - \(pmod(a, b)), \(b))" }
    /// Project ids hold hyphens.
    package var schemaNamesMayHoldHyphens: Bool { true }

    package func quotient(_ a: String, _ b: String) -> String { "DIV((\(a)), (\(b)))" }
    package var nowMicros: String { "UNIX_MICROS(CURRENT_TIMESTAMP())" }
    package func isoSeconds(_ seconds: String) -> String {
        "FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%S', TIMESTAMP_SECONDS(\(seconds)))"
    }

    package func search(_ value: String, _ pattern: String) -> String { "REGEXP_CONTAINS(\(value), \(pattern))" }
    package func fail(_ message: String) -> String { "ERROR(\(message))" }

    package func temporaryTable(_ name: String, _ select: String) -> [String] {
        ["CREATE TEMP TABLE \(name) AS\n\(select)"]
    }
    package func resultTable(_ table: String, _ select: String) -> [String] {
        ["CREATE OR REPLACE TABLE \(table) AS\n\(select)"]
    }
    /// BigQuery refuses table DDL in a transaction.
    package var transaction: (begin: String, commit: String)? { nil }

    /// The fold, a JavaScript function over each group's arrays.
    package func windowedEvictions(_ fold: WindowFold) -> String {
        """
        SELECT profile, type, CAST(evicted AS INT64) AS cpos FROM (
            SELECT profile, type, idaudit_walk(
                ARRAY_AGG(CAST(first_seen AS FLOAT64) ORDER BY cpos), ARRAY_AGG(prot = 1 ORDER BY cpos),
                CAST(MAX(w) AS FLOAT64), CAST(MAX(lim) AS FLOAT64)) AS evicted_list
            \(fold.groups)
        ) AS folded, UNNEST(evicted_list) AS evicted
        """
    }

    package var walkFunction: [String] {
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
