import ArgumentParser
import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditRules
import IDAuditScan
import IDAuditStore
import IDAuditWarehouse

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan the store against a rules file and write a remediation plan.",
        discussion: """
            Writes to the --out folder:
              plan.csv      one line per excess identifier: segment_id,type,value,reason,rank,lookup_user_id,
                            remediable,first_seen,seq,limit,frequency,matched (sorted by segment_id, type,
                            then oldest first)
              plan.json     the same lines with their rationale (limit, window, the identifiers kept)
              summary.json  profiles, active identifiers, excess by type and reason, remediable vs not
              report.html   for people: headline, charts, the top 20 offending profiles, rules, the downstream
                            checklist (one self-contained file; --redact hides identifier values)
              report.md     the headline and tables, for a ticket or a pull request

            Rules (see rules/*.yaml): blocked values are excess whatever the limit; within a type the oldest \
            identifiers beyond the limit are excess (ever: a lifetime cap; daily/weekly/monthly/annually: a \
            sliding window over first_seen); protected values are never proposed. A line is remediable when the \
            profile keeps a user_id (Segment's delete API is addressed by one) and the type is not group_id.

            Only profiles changed since the last scan with the same rules are re-evaluated; --full forces all.

            A warehouse in place: --source postgres reads the Profiles Sync tables (id_graph_updates, \
            external_id_mapping_updates, lower-case, in --schema) over IDAUDIT_PG_URL; the password comes from \
            PGPASSWORD or ~/.pgpass. Merges, REMOVED rows and first-seen selection run in SQL, read-only, under \
            --statement-timeout; profiles stream in one at a time. It writes plan.csv, plan.json, summary.json and \
            the reports (without run history: the store keeps that).

            Exit codes, for nightly CI jobs (the ladder data-quality tools use):
              0  nothing is in excess
              1  some excess, at or below --fail-above (a warning)
              2  excess above --fail-above (the default 0 makes any excess a failure)
              3  the scan could not run (bad rules, missing store, ...)
            --junit FILE writes one test case per rule and type; --format json prints summary.json on stdout.
            """)

    @Option(help: "The SQLite store.")
    var store = "idaudit.sqlite"

    @Option(help: "The rules file (YAML).")
    var rules: String

    @Option(help: "The output folder (default: reports/<UTC date-time>/).")
    var out: String?

    @Flag(help: "Re-evaluate every profile, even those unchanged since the last scan.")
    var full = false

    @Option(help: "Excess tolerated before exit code 2: a count of identifiers (250) or a percent of profiles (0.5%).")
    var failAbove = "0"

    @Option(help: "Also write a JUnit XML report here: one test case per rule and identifier type.")
    var junit: String?

    @Option(help: "What to print on stdout: text (a summary for people) or json (summary.json, for pipelines).")
    var format: OutputFormat = .text

    @Flag(help: "Replace identifier values in report.html and report.md with a stable short hash (#+10 hex of sha256).")
    var redact = false

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    enum Source: String, ExpressibleByArgument, CaseIterable {
        case sqlite, postgres
    }

    @Option(help: "Where the profiles are: sqlite (the --store) or postgres (IDAUDIT_PG_URL, read in place).")
    var source: Source = .sqlite

    @Option(help: "postgres: the schema holding id_graph_updates and external_id_mapping_updates.")
    var schema = "profiles_sync"

    @Option(help: "postgres: the longest the query may run, in seconds.")
    var statementTimeout = 3600

    func validate() throws {
        guard FailThreshold(failAbove) != nil else {
            throw ValidationError("--fail-above takes a count of identifiers (250) or a percent of profiles (0.5%)")
        }
    }

    func run() async throws {
        if source == .postgres {
            try await runSourceScan()
            return
        }
        try reportingFailures {
            let started = Clock.monotonic()
            let ruleSet = try RulesLoader.load(path: rules)
            let db = try ProfileStore.openExisting(path: store)
            let folder = out ?? Clock.defaultReportFolder()
            var options = ScanOptions(
                outDirectory: folder, rulesPath: rules, full: full,
                progress: { Terminal.progress("evaluated \(Terminal.count($0)) profiles") })
            options.redact = redact
            let result = try Scanner.run(store: db, rules: ruleSet, options: options, now: Clock.now())
            Terminal.endProgress()
            if let junit {
                try OutputFile.write(JUnitReport.xml(totals: result.totals, rules: ruleSet, rulesPath: rules), to: junit)
            }
            switch format {
            case .text: print(ScanReportText.render(result, folder: folder, seconds: Clock.monotonic() - started))
            case .json: print(result.summaryJSON, terminator: "")
            }
            let threshold = FailThreshold(failAbove) ?? .identifiers(0)
            let outcome = ScanOutcome.of(result.totals, planLines: result.planLines, threshold: threshold)
            if outcome != .clean {
                Terminal.warn(
                    "idaudit: \(Terminal.count(result.planLines)) identifiers in excess; --fail-above \(threshold): "
                        + (outcome == .failure ? "failing (exit 2)" : "warning (exit 1)"))
                throw ExitCode(outcome.rawValue)
            }
        }
    }
}

extension Scan {
    /// A warehouse scan: plan.csv, plan.json, summary.json and the reports.
    func runSourceScan() async throws {
        try await reportingFailuresAsync {
            let started = Clock.monotonic()
            let ruleSet = try RulesLoader.load(path: rules)
            let folder = out ?? Clock.defaultReportFolder()
            guard let url = ProcessInfo.processInfo.environment["IDAUDIT_PG_URL"] else {
                throw ValidationError(
                    "--source postgres reads IDAUDIT_PG_URL (postgres://user@host:5432/database); the password "
                        + "comes from PGPASSWORD or ~/.pgpass, never from the command line")
            }
            let configuration = try WarehouseConfiguration.parse(
                url: url, schema: schema, statementTimeoutSeconds: statementTimeout)
            let result = try await WarehouseScan.run(
                reader: WarehouseReader(configuration: configuration), rules: ruleSet, rulesPath: rules,
                outDirectory: folder, now: Clock.now(), redact: redact,
                progress: { Terminal.progress("evaluated \(Terminal.count($0)) profiles") })
            Terminal.endProgress()
            if let junit {
                try OutputFile.write(JUnitReport.xml(totals: result.totals, rules: ruleSet, rulesPath: rules), to: junit)
            }
            switch format {
            case .text:
                let t = result.totals
                var text = "scanned \(Terminal.count(t.profiles)) profiles"
                text += ", \(Terminal.count(t.identifiers)) active identifiers in "
                text += "\(Terminal.seconds(Clock.monotonic() - started)) from \(source.rawValue)\n"
                text += "  profiles in violation: \(Terminal.count(t.profilesInViolation))\n"
                text += "  identifiers to delete: \(Terminal.count(result.planLines)) (remediable "
                text += "\(Terminal.count(result.remediableLines)))\n"
                text += "  plan: \(result.files.joined(separator: ", "))"
                print(text)
            case .json: print(result.summaryJSON, terminator: "")
            }
            let threshold = FailThreshold(failAbove) ?? .identifiers(0)
            let outcome = ScanOutcome.of(result.totals, planLines: result.planLines, threshold: threshold)
            if outcome != .clean { throw ExitCode(outcome.rawValue) }
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
        if let previous = result.run.previousRunID {
            out += "  since run \(previous) (same rules): \(Terminal.count(result.run.new)) new, "
            out += "\(Terminal.count(result.run.persisting)) persisting, \(Terminal.count(result.run.resolved)) resolved"
            if result.run.reintroduced > 0 {
                out += ", \(Terminal.count(result.run.reintroduced)) REINTRODUCED (deleted by apply, active again)"
            }
            out += "\n"
        }
        out += "  plan: \(result.files.joined(separator: ", "))"
        return out
    }
}
