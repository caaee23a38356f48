/// Redshift: PostgreSQL 8's SQL, with its own literals and no fold.
package struct Redshift: Dialect {
    package init() {}

    package var displayName: String { "Redshift" }
    package var text: String { "VARCHAR(65535)" }

    /// Redshift reads backslash escapes in every literal (its QUOTE_LITERAL doubles backslashes), as PostgreSQL 8.0
    /// did: `\\` is one backslash and `\ooo` one byte, octal; a character is its UTF-8 bytes.
    package func literal(_ value: String) -> String {
        Literal.escaped(value, quote: "''") { scalar in
            String(scalar).utf8.map { byte in
                let octal = String(byte, radix: 8)
                return "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }.joined()
        }
    }

    /// Its text cannot hold NUL.
    package func canHold(_ value: String) -> Bool { !value.unicodeScalars.contains("\0") }

    package var sessionSetup: [String] { ["SET TIME ZONE 'UTC'"] }
    package var nowMicros: String { Postgres().nowMicros }
    package func isoSeconds(_ seconds: String) -> String { Postgres().isoSeconds(seconds) }
    package func search(_ value: String, _ pattern: String) -> String { Postgres().search(value, pattern) }
    package func fail(_ message: String) -> String { Postgres().fail(message) }

    /// The most candidates of one profile and type the walk takes: its state is a `VARCHAR(65535)`.
    package static let walkLimit = 65_535

    /// Redshift has no fold, no arrays and no procedural function that runs per group on the compute nodes: its walk
    /// is a recursive CTE over each group's candidates oldest first. What a step needs from the other rows is
    /// computed beforehand, per candidate: where its window starts (1 + the candidates with first_seen <= its
    /// first_seen - w, a running count over the candidates and one probe per candidate, in (time, candidates before
    /// probes) order; they are a prefix, since candidates are numbered oldest first).
    package func windowedStatements(_ fold: WindowFold) -> [String] {
        let groups = "FROM \(fold.ids) WHERE cand = 1 AND w IS NOT NULL AND ccount > lim"
        let columns = "profile, type, CAST(cpos AS INTEGER) AS cpos, CASE WHEN prot = 1 THEN 'P' ELSE 'K' END AS ch, lim"
        // The walk's state is a VARCHAR(65535): a longer group stops the script rather than be cut short.
        let tooLong = fold.stopWhenAny(
            "profile", "\(fold.ids) WHERE cand = 1 AND w IS NOT NULL AND ccount > \(Self.walkLimit)",
            "profile ' || culprit || ' has more than \(Self.walkLimit) values of one type under a windowed limit, more than the Redshift walk holds")
        return [tooLong] + temporaryTable(
            fold.table("steps"),
            """
            SELECT profile, type, cpos, ch, lim, CAST(ws AS INTEGER) AS ws FROM (
                SELECT profile, type, cpos, ch, lim, probe,
                    1 + SUM(1 - probe) OVER (PARTITION BY profile, type ORDER BY t, probe
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ws
                FROM (
                    SELECT \(columns), first_seen AS t, 0 AS probe \(groups)
                    UNION ALL
                    SELECT \(columns), first_seen - w AS t, 1 AS probe \(groups)
                ) AS events
            ) AS counted WHERE probe = 1
            """) + temporaryTable(fold.windowed, windowedEvictions(fold))
    }

    /// The walk: one row per group and step, whose state is a text of one letter per candidate so far (K kept, P
    /// protected, E evicted). Step i appends its letter, counts the letters of its window that are not E and, over
    /// the limit, turns the window's first K (the oldest kept value that is not protected) into E. One eviction per
    /// step is all the walk ever makes: before a step its window holds at most `lim` values, or only protected ones.
    package func windowedEvictions(_ fold: WindowFold) -> String {
        let state = "(k.state || s.ch)"
        let length = "(s.cpos - s.ws + 1)"
        let window = "SUBSTRING(\(state) FROM s.ws FOR \(length))"
        let evicted = "(LENGTH(\(window)) - LENGTH(REPLACE(\(window), 'E', '')))"
        let oldest = "POSITION('K' IN \(window))"
        let victim = "(CASE WHEN \(length) - \(evicted) > s.lim AND \(oldest) > 0 THEN s.ws + \(oldest) - 1 ELSE 0 END)"
        let next =
            "CASE WHEN \(victim) > 0 THEN SUBSTRING(\(state) FROM 1 FOR \(victim) - 1) || 'E' || "
            + "SUBSTRING(\(state) FROM \(victim) + 1) ELSE \(state) END"
        return """
            WITH RECURSIVE walk (profile, type, i, state, victim) AS (
                SELECT profile, type, 0, CAST('' AS \(text)), 0 FROM \(fold.table("steps")) WHERE cpos = 1
                UNION ALL
                SELECT s.profile, s.type, s.cpos, CAST(\(next) AS \(text)), \(victim)
                FROM walk AS k, \(fold.table("steps")) AS s
                WHERE s.profile = k.profile AND s.type = k.type AND s.cpos = k.i + 1
            )
            SELECT profile, type, victim AS cpos FROM walk WHERE victim > 0
            """
    }
}
