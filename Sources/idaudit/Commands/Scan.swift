import ArgumentParser
import IDAuditCore
import IDAuditRules
import IDAuditScan
import IDAuditStore

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan the store against a rules file and write a remediation plan.",
        discussion: """
            Writes to the --out folder:
              plan.csv      one line per excess identifier: segment_id,type,value,reason,rank,lookup_user_id,
                            remediable,first_seen,seq,limit,frequency,matched (sorted by segment_id, type,
                            then oldest first)
              plan.json     the same lines with their rationale (limit, window, the identifiers kept)
              summary.json  profiles, active identifiers, excess by type and reason, remediable vs not

            Rules (see rules/*.yaml): blocked values are excess whatever the limit; within a type the oldest \
            identifiers beyond the limit are excess (ever: a lifetime cap; daily/weekly/monthly/annually: a \
            sliding window over first_seen); protected values are never proposed. A line is remediable when the \
            profile keeps a user_id (Segment's delete API is addressed by one) and the type is not group_id.

            Only profiles changed since the last scan with the same rules are re-evaluated; --full forces all.
            """)

    @Option(help: "The SQLite store.")
    var store = "idaudit.sqlite"

    @Option(help: "The rules file (YAML).")
    var rules: String

    @Option(help: "The output folder (default: reports/<UTC date-time>/).")
    var out: String?

    @Flag(help: "Re-evaluate every profile, even those unchanged since the last scan.")
    var full = false

    func run() throws {
        try reportingFailures {
            let started = Clock.monotonic()
            let ruleSet = try RulesLoader.load(path: rules)
            let db = try ProfileStore.openExisting(path: store)
            let folder = out ?? Clock.defaultReportFolder()
            let result = try Scanner.run(
                store: db, rules: ruleSet,
                options: ScanOptions(
                    outDirectory: folder, rulesPath: rules, full: full,
                    progress: { Terminal.progress("evaluated \(Terminal.count($0)) profiles") }),
                now: Clock.now())
            Terminal.endProgress()
            print(ScanReportText.render(result, folder: folder, seconds: Clock.monotonic() - started))
        }
    }
}

enum ScanReportText {
    static func render(_ result: ScanResult, folder: String, seconds: Double) -> String {
        let t = result.totals
        var out = "scanned \(Terminal.count(t.profiles)) profiles, \(Terminal.count(t.identifiers)) active identifiers"
        out += " in \(Terminal.seconds(seconds))"
        out += result.refresh.full
            ? " (all profiles evaluated)\n"
            : " (\(Terminal.count(result.refresh.evaluatedProfiles)) changed profiles re-evaluated)\n"
        out += "  profiles in violation: \(Terminal.count(t.profilesInViolation))\n"
        out += "  identifiers to delete: \(Terminal.count(result.planLines))"
        out += " (remediable \(Terminal.count(result.remediableLines)), not remediable "
        out += "\(Terminal.count(result.planLines - result.remediableLines)))\n"
        if !t.excess.isEmpty {
            out += "  by type and reason:\n"
            let width = max(12, t.excess.map { $0.type.count }.max() ?? 12)
            for e in t.excess {
                out += "    \(Terminal.pad(e.type, width))  \(Terminal.pad(e.reason.rawValue, 8))"
                out += "  \(Terminal.padLeft(Terminal.count(e.count), 10))"
                out += "  (remediable \(Terminal.count(e.remediable)))\n"
            }
        }
        out += "  plan: \(result.files.joined(separator: ", "))"
        return out
    }
}
