/// PostgreSQL.
package struct Postgres: Dialect {
    package init() {}

    package var displayName: String { "PostgreSQL" }
    package var text: String { "TEXT" }

    package func literal(_ value: String) -> String {
        // An escape string (E'...') only when needed: `\uXXXX` and `\UXXXXXXXX` are code points.
        guard !value.unicodeScalars.allSatisfy(Literal.printable) else {
            return "'" + value.replacing("'", with: "''") + "'"
        }
        return "E" + Literal.escaped(value, quote: "''", escape: Literal.codePoint)
    }

    /// Its text cannot hold NUL.
    package func canHold(_ value: String) -> Bool { !value.unicodeScalars.contains("\0") }

    /// In the "C" collation, so that every sort, partition and join of the script compares bytes whatever the
    /// database's default collation (with an ICU en-US default, the whole script took 121 s instead of 81 s at 1 M
    /// profiles).
    package func textCast(_ expr: String) -> String { "(CAST(\(expr) AS TEXT) COLLATE \"C\")" }
    package func bytes(_ expr: String) -> String { "(\(expr) COLLATE \"C\")" }

    /// Literals are read as the standard says (`\` is a backslash), whatever the server's default.
    package var sessionSetup: [String] { ["SET TIME ZONE 'UTC'", "SET standard_conforming_strings = on"] }
    package var nowMicros: String { "CAST(extract(epoch FROM CURRENT_TIMESTAMP) * 1000000 AS BIGINT)" }
    package func isoSeconds(_ seconds: String) -> String {
        "to_char(TIMESTAMP 'epoch' + \(seconds) * INTERVAL '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    }

    package func search(_ value: String, _ pattern: String) -> String { "(\(value) ~ \(pattern))" }
    /// No error function: a cast that cannot succeed carries the message into the engine's error.
    package func fail(_ message: String) -> String { "CAST(\(message) AS INTEGER)" }

    /// `CREATE SCHEMA IF NOT EXISTS` checks CREATE on the database before it looks for the schema: the README's
    /// user, who owns the results schema and may create no other, was refused ("permission denied for database").
    /// The schema is looked for first (an unquoted name is folded to lower case, as PostgreSQL folds it).
    package func createSchemaIfMissing(_ name: String) -> String {
        "DO $idaudit$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = "
            + literal(name.lowercased()) + ") THEN CREATE SCHEMA \(name); END IF; END $idaudit$"
    }

    /// Autovacuum never analyzes temporary tables; without statistics the planner guesses a few hundred rows for
    /// every one and picks sort-merge joins over millions (measured at 1 M profiles: a 29 s statement, 1 GB sorted on
    /// disk, where hash joins take a few seconds). ANALYZE samples 30,000 rows.
    package func temporaryTable(_ name: String, _ select: String) -> [String] {
        ["CREATE TEMPORARY TABLE \(name) AS\n\(select)", "ANALYZE \(name)"]
    }

    /// The fold, a PL/pgSQL function over each group's arrays.
    package func windowedEvictions(_ fold: WindowFold) -> String {
        """
        SELECT profile, type, evicted AS cpos FROM (
            SELECT profile, type, unnest(pg_temp.idaudit_walk(
                array_agg(first_seen ORDER BY cpos), array_agg(prot = 1 ORDER BY cpos), MAX(w), MAX(lim))) AS evicted
            \(fold.groups)
        ) AS folded
        """
    }

    package var walkFunction: [String] {
        [
            """
            CREATE OR REPLACE FUNCTION pg_temp.idaudit_walk(t BIGINT[], p BOOLEAN[], w BIGINT, lim BIGINT)
            RETURNS BIGINT[] LANGUAGE plpgsql IMMUTABLE AS $walk$
            DECLARE
                kept INTEGER[] := '{}';
                evicted BIGINT[] := '{}';
                first INTEGER;
                inwindow INTEGER;
                victim INTEGER;
            BEGIN
                FOR i IN 1 .. COALESCE(array_length(t, 1), 0) LOOP
                    kept := kept || i;
                    first := array_length(kept, 1);
                    WHILE first > 1 AND t[kept[first - 1]] > t[i] - w LOOP
                        first := first - 1;
                    END LOOP;
                    inwindow := array_length(kept, 1) - first + 1;
                    WHILE inwindow > lim LOOP
                        victim := NULL;
                        FOR j IN first .. array_length(kept, 1) LOOP
                            IF NOT p[kept[j]] THEN
                                victim := j;
                                EXIT;
                            END IF;
                        END LOOP;
                        EXIT WHEN victim IS NULL;
                        evicted := evicted || kept[victim]::BIGINT;
                        kept := kept[1:victim - 1] || kept[victim + 1:];
                        inwindow := inwindow - 1;
                    END LOOP;
                END LOOP;
                RETURN evicted;
            END
            $walk$
            """
        ]
    }
}
