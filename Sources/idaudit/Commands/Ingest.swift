import ArgumentParser
import IDAuditStore

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load (or append) a Profiles Sync export into the SQLite store.",
        discussion: """
            EXPORT_DIR holds id_graph_updates.csv and external_id_mapping_updates.csv (or .csv.gz), as a \
            warehouse unload writes them: a header row, column names in any case and order, unknown columns \
            ignored, RFC 4180 quoting, LF or CRLF.

            Times: YYYY-MM-DD HH:MM:SS with any fraction (nanoseconds are truncated to microseconds), T or a space \
            between, then the zone as unloads write it: nothing (taken as UTC), Z, UTC or GMT (BigQuery), or an \
            offset +HH:MM, +HHMM (Snowflake TIMESTAMP_TZ/LTZ: "2025-01-01 10:00:00.000 -0800") or +HH \
            (PostgreSQL, Redshift), with or without a space before it; converted to UTC. Named zones \
            ("America/New_York", "PST") are ambiguous and refused. An empty TIMESTAMP falls back to RECEIVED_AT.

            Ingesting is idempotent: rows already stored are skipped (mapping rows by ID, graph rows by \
            SEGMENT_ID and SEQ), so the same export twice, or hourly exports that overlap, store each row once. \
            One ingest is one transaction: a malformed row stops it with FILE:LINE: what is wrong, and the store \
            stays exactly as it was. With --rejects FILE, bad rows go to FILE with the reason and the rest is kept.

            The store keeps the merge graph and each identifier's state up to date, so the next scan \
            re-evaluates only the profiles this export touched.
            """)

    @Argument(help: "The export folder.")
    var exportDir: String

    @Option(help: "The SQLite store (created when missing).")
    var store = "idaudit.sqlite"

    @Option(help: "Write malformed rows to this CSV file (file,line,reason,record) instead of stopping.")
    var rejects: String?

    func run() throws {
        try reportingFailures {
            let started = Clock.monotonic()
            let db = try ProfileStore(path: store)
            let report = try db.ingest(
                directory: exportDir,
                options: IngestOptions(rejectsPath: rejects, progress: IngestCommandProgress.show))
            Terminal.endProgress()
            print(IngestCommandProgress.summary(report, store: store, seconds: Clock.monotonic() - started))
        }
    }
}

enum IngestCommandProgress {
    @Sendable static func show(_ p: IngestProgress) {
        if p.phase == "derive" {
            Terminal.progress("deriving identifiers: \(Terminal.count(p.rows))", count: p.rows)
            return
        }
        let name = p.file.split(separator: "/").last.map(String.init) ?? p.file
        var text = "\(name): \(Terminal.count(p.rows)) rows"
        let fraction = p.totalBytes > 0 ? Double(p.bytes) / Double(p.totalBytes) : nil
        if let fraction { text += " (\(Int(fraction * 100))%)" }
        Terminal.progress(text, count: p.rows, fraction: fraction)
    }

    static func summary(_ report: IngestReport, store: String, seconds: Double) -> String {
        func line(_ name: String, _ c: FileCounts) -> String {
            "  \(Terminal.pad(name, 28)) read \(Terminal.padLeft(Terminal.count(c.read), 11))"
                + "  stored \(Terminal.padLeft(Terminal.count(c.stored), 11))"
                + "  duplicate \(Terminal.padLeft(Terminal.count(c.duplicate), 9))"
                + "  rejected \(Terminal.padLeft(Terminal.count(c.rejected), 7))"
        }
        var out = "ingested into \(store) in \(Terminal.seconds(seconds))\(report.bulk ? " (bulk load of an empty store)" : "")\n"
        out += line("id_graph_updates", report.graph) + "\n"
        out += line("external_id_mapping_updates", report.mapping) + "\n"
        out += "  identifiers changed: \(Terminal.count(report.changedIdentifiers)); "
        out += "segments moved to another profile: \(Terminal.count(report.remappedSegments))"
        return out
    }
}
