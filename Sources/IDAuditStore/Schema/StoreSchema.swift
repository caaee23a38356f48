import GRDB

/// The store's schema, as GRDB migrations.
///
/// Raw tables keep every Profiles Sync row exactly once (`graph_updates`, `mapping_updates`); derived tables keep
/// what the scan needs up to date at ingest (`merges`: rule 1, `identifiers`: rule 2 with the canonical profile);
/// scan tables cache the last evaluation per profile so an hourly re-scan re-evaluates only `dirty_profiles`.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    -- id_graph_updates rows, unique by (SEGMENT_ID, SEQ).
                    CREATE TABLE graph_updates (
                        segment_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        canonical_segment_id TEXT NOT NULL,
                        timestamp INTEGER,
                        PRIMARY KEY (segment_id, seq)
                    ) WITHOUT ROWID;

                    -- Rule 1, derived: every segment id whose parent is another id, with its canonical id.
                    CREATE TABLE merges (
                        segment_id TEXT NOT NULL PRIMARY KEY,
                        parent TEXT NOT NULL,
                        canonical_id TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX merges_by_parent ON merges(parent);

                    -- external_id_mapping_updates, one row per (type, value) identifier: its rows (the history blob:
                    -- SEQ, time, REMOVED, ID and segment id of each, in rule 2's order) and the state rule 2 derives.
                    CREATE TABLE identifiers (
                        type TEXT NOT NULL,
                        value TEXT NOT NULL,
                        active INTEGER NOT NULL,
                        segment_id TEXT NOT NULL,
                        canonical_id TEXT NOT NULL,   -- kept right for active identifiers only
                        first_seen INTEGER NOT NULL,
                        first_seq INTEGER NOT NULL,
                        rows INTEGER NOT NULL,
                        history BLOB NOT NULL,
                        PRIMARY KEY (type, value)
                    ) WITHOUT ROWID;

                    -- Profiles whose identifiers changed since the last scan.
                    CREATE TABLE dirty_profiles (canonical_id TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID;

                    -- The last scan's evaluation, per profile, and the rules it used.
                    CREATE TABLE scan_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        rules_sha256 TEXT NOT NULL
                    );
                    CREATE TABLE scan_profiles (
                        canonical_id TEXT NOT NULL PRIMARY KEY,
                        identifiers INTEGER NOT NULL,
                        excess INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE scan_lines (
                        canonical_id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        rank INTEGER NOT NULL,
                        value TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        lookup_user_id TEXT NOT NULL,
                        remediable INTEGER NOT NULL,
                        first_seen INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        limit_count INTEGER,
                        frequency TEXT,
                        matched TEXT,
                        csv TEXT NOT NULL,            -- the line's plan.csv record
                        json TEXT NOT NULL,           -- the line's plan.json object, rationale included
                        PRIMARY KEY (canonical_id, type, rank)
                    ) WITHOUT ROWID;
                    """)
            try createProfileIndex(db)
        }
        migrator.registerMigration("v2-run-history") { db in
            try db.execute(
                sql: """
                    -- One row per scan, and the excess identifiers it found (v7 keeps only the latest run's).
                    CREATE TABLE scan_runs (
                        id INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,
                        rules_sha256 TEXT NOT NULL,
                        profiles INTEGER NOT NULL,
                        excess INTEGER NOT NULL DEFAULT 0,
                        new INTEGER NOT NULL DEFAULT 0,
                        persisting INTEGER NOT NULL DEFAULT 0,
                        resolved INTEGER NOT NULL DEFAULT 0,
                        previous_run INTEGER
                    );
                    CREATE TABLE run_excess (
                        run_id INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        value TEXT NOT NULL,
                        PRIMARY KEY (run_id, type, value)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v3-applied-deletions") { db in
            try db.execute(
                sql: """
                    -- Identifiers apply deleted at Segment (the store holds values; the journal does not), so a
                    -- later scan can tell a reintroduced identifier from a new one.
                    CREATE TABLE applied_deletions (
                        type TEXT NOT NULL,
                        value TEXT NOT NULL,
                        destination TEXT NOT NULL,
                        plan_sha256 TEXT NOT NULL,
                        deleted_at INTEGER NOT NULL,
                        PRIMARY KEY (type, value, destination)
                    ) WITHOUT ROWID;
                    ALTER TABLE scan_runs ADD COLUMN reintroduced INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v4-scan-histogram") { db in
            try db.execute(
                sql: """
                    -- Per profile, how many identifiers of each type count toward its limit (for the histogram's
                    -- incremental upkeep), and the histogram itself: profiles by (type, count).
                    ALTER TABLE scan_profiles ADD COLUMN type_counts TEXT NOT NULL DEFAULT '';
                    CREATE TABLE scan_histogram (
                        type TEXT NOT NULL,
                        counted INTEGER NOT NULL,
                        profiles INTEGER NOT NULL,
                        PRIMARY KEY (type, counted)
                    ) WITHOUT ROWID;
                    -- Cached evaluations lack the new column: the next scan evaluates every profile.
                    DELETE FROM scan_state;
                    """)
        }
        migrator.registerMigration("v5-scan-engine-version") { db in
            try db.execute(
                sql: """
                    -- The version of the evaluation the cached scan holds (ScanEngine.version): a cache another
                    -- version wrote is never reused, it is evaluated again.
                    ALTER TABLE scan_state ADD COLUMN engine_version INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v6-scan-totals") { db in
            try db.execute(
                sql: """
                    -- The last scan's totals, kept up to date like the histogram, so a scan that re-evaluated a
                    -- few profiles does not count every profile and line again.
                    CREATE TABLE scan_totals (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        profiles INTEGER NOT NULL,
                        identifiers INTEGER NOT NULL,
                        in_violation INTEGER NOT NULL
                    );
                    CREATE TABLE scan_excess (
                        type TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        count INTEGER NOT NULL,
                        remediable INTEGER NOT NULL,
                        PRIMARY KEY (type, reason)
                    ) WITHOUT ROWID;
                    -- A cached scan has no totals yet: the next scan evaluates every profile.
                    DELETE FROM scan_state;
                    """)
        }
        migrator.registerMigration("v7-latest-excess") { db in
            try db.execute(
                sql: """
                    -- A run is compared with the previous run of its rules only: the store keeps the excess of the
                    -- latest run of each rules (not of every run; a run keeps its counts), and what the scan cache
                    -- changed since that run, so recording a run costs what changed, not the whole excess.
                    CREATE TABLE rules_excess (
                        rules_sha256 TEXT NOT NULL,
                        type TEXT NOT NULL,
                        value TEXT NOT NULL,
                        PRIMARY KEY (rules_sha256, type, value)
                    ) WITHOUT ROWID;
                    INSERT INTO rules_excess(rules_sha256, type, value)
                        SELECT r.rules_sha256, e.type, e.value FROM run_excess AS e
                        JOIN (SELECT rules_sha256, max(id) AS id FROM scan_runs GROUP BY rules_sha256) AS r
                            ON e.run_id = r.id;
                    DROP TABLE run_excess;
                    -- The cached scan's lines = the excess of run `base_run` changed by `scan_delta` (net +1: in the
                    -- excess since, -1: out of it since); no row, or a NULL base: unknown, compared in full.
                    CREATE TABLE scan_delta_base (id INTEGER PRIMARY KEY CHECK (id = 1), base_run INTEGER);
                    CREATE TABLE scan_delta (
                        type TEXT NOT NULL,
                        value TEXT NOT NULL,
                        change INTEGER NOT NULL,
                        PRIMARY KEY (type, value)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    /// The covering index the scan streams profiles from: one index scan, no sort, no table lookups.
    ///
    /// `active` is among its columns although the index is partial: without it SQLite reads the table for every
    /// row to check the WHERE term (measured: 10x slower).
    static func createProfileIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE INDEX IF NOT EXISTS identifiers_by_profile
                    ON identifiers(canonical_id, type, first_seen, first_seq, value, active) WHERE active = 1
                """)
    }

    static func dropProfileIndex(_ db: Database) throws {
        try db.execute(sql: "DROP INDEX IF EXISTS identifiers_by_profile")
    }
}
