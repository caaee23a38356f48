import ArgumentParser
import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditRules
import IDAuditSQL
import IDAuditScan
import IDAuditStore
import IDAuditEngine
import IDAuditWarehouse

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Scan the store against a rules file and write a remediation plan.",
        discussion: """
            Writes to the --out folder:
              plan.csv      one line per excess identifier: segment_id, type, value,
                            reason, rank, lookup_user_id, remediable, first_seen,
                            seq, limit, frequency, matched, generated_at,
                            rules_sha256 (sorted by segment_id, type, then oldest
                            first)
              plan.json     the same lines with their rationale (limit, window,
                            the identifiers kept)
              summary.json  profiles, active identifiers, excess by type and
                            reason, remediable vs not
              report.html   for people: headline, charts, the top 20 offending
                            profiles, rules, the downstream checklist (one
                            self-contained file; --redact hides identifier values)
              report.md     the headline and tables, for a ticket or a pull request

            Rules (see rules/*.yaml): blocked values are excess whatever the limit; within a type the oldest \
            identifiers beyond the limit are excess (ever: a lifetime cap; daily/weekly/monthly/annually: a \
            sliding window over first_seen); protected values are never proposed. A line is remediable when the \
            profile keeps a user_id (Segment's delete API is addressed by one) and the type is not group_id.

            Only profiles changed since the last scan with the same rules are re-evaluated; --full forces all.

            Nightly in CI, with no store kept: --export DIR scans an export folder once (the same formats and \
            FILE:LINE errors as ingest, --rejects FILE to keep going), and --previous DIR (last night's output \
            folder, restored from a CI artifact) gives new, persisting and resolved, for any source.

            Where the data lives: --source postgres, snowflake, duckdb, clickhouse or spark runs the whole scan inside \
            that engine \
            (the same SQL `idaudit sql` prints: merges, REMOVED rows, limits, windows, blocked and protected \
            values, ranks) against the Profiles Sync tables id_graph_updates and external_id_mapping_updates in \
            --schema, writes result tables (idaudit_plan, idaudit_summary, idaudit_histogram, idaudit_kept, \
            idaudit_offenders, idaudit_caps) into --into, and reads back only those. postgres: IDAUDIT_PG_URL, password from \
            PGPASSWORD or ~/.pgpass. duckdb: --export DIR reads an export folder in place (CSV, .csv.gz or \
            Parquet), or --database FILE. clickhouse: the same, in process through chdb (pip install chdb). \
            spark: spark-submit (pyspark) with --master (local[2], \
            spark://host:7077, yarn); --export DIR registers an export folder as the source tables. snowflake: the \
            official connector (pip install snowflake-connector-python) with SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and \
            SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_FILE or SNOWFLAKE_TOKEN (or SNOWFLAKE_CONNECTION_NAME from \
            connections.toml), SNOWFLAKE_WAREHOUSE and SNOWFLAKE_DATABASE. No run history \
            for these sources: the store keeps that.

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

    @Flag(help: "Fail (exit 2) when the comparison with the previous scan finds new or reintroduced excess, whatever --fail-above says.")
    var failOnNew = false

    @Option(help: "Also write a JUnit XML report here: one test case per rule and identifier type.")
    var junit: String?

    @Option(help: "What to print on stdout: text (a summary for people) or json (summary.json, for pipelines).")
    var format: OutputFormat = .text

    @Flag(help: "Replace identifier values in report.html and report.md with a stable short hash (#+10 hex of sha256).")
    var redact = false

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    /// Where the profiles are: the store, or an engine of the registry (``ScanEngine``).
    enum Source: ExpressibleByArgument, Equatable {
        case store
        case engine(ScanEngine)

        init?(argument: String) {
            if argument == "sqlite" {
                self = .store
            } else if let engine = ScanEngine(rawValue: argument) {
                self = .engine(engine)
            } else {
                return nil
            }
        }

        static var allValueStrings: [String] { ["sqlite"] + ScanEngine.allCases.map(\.rawValue) }
        var defaultValueDescription: String { "sqlite" }
    }

    @Option(
        help: ArgumentHelp(
            "Where the profiles are: sqlite (the --store), or an engine that computes the plan in place: "
                + ScanEngine.allCases.map(\.help).joined(separator: ", ") + "."))
    var source: Source = .store

    @Option(help: "An export folder to scan as it is: with no --source, once and with no store kept (nightly CI); duckdb, clickhouse, spark: read in place as the --schema tables (CSV, .csv.gz, Parquet).")
    var export: String?

    @Option(
        help: """
            A folder of the six result tables `idaudit sql` made in your warehouse, unloaded as CSV (one file or \
            parts, a header or none, plain or gzip): the same folder as any scan, with no engine here.
            """)
    var results: String?

    @Option(help: "With --export and no --source: write malformed rows here (file,line,reason,record) instead of stopping.")
    var rejects: String?

    @Option(help: "A previous scan's output folder (last night's CI artifact): new, persisting and resolved are counted against it.")
    var previous: String?

    @OptionGroup(title: "Engines")
    var engine: EngineOptions

    func validate() throws {
        try engine.validate()
        if results != nil, export != nil || source != .store {
            throw ValidationError("--results reads tables an engine already computed: no --export, no --source")
        }
        if case .engine(let engine) = source, let problem = engine.problem(with: self.engine.settings(export: export)) {
            throw ValidationError(problem)
        }
        guard FailThreshold(failAbove) != nil else {
            throw ValidationError("--fail-above takes a count of identifiers (250) or a percent of profiles (0.5%)")
        }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            let started = Clock.monotonic()
            let ruleSet = try RulesLoader.load(path: rules)
            let folder = out ?? Clock.defaultReportFolder()
            let result: ScanResult
            var engineName: String?
            switch source {
            case .engine(let kind):
                var settings = engine.settings(export: export)
                // On a terminal the line is redrawn; in a log, one line each time the engine reports.
                settings.progress = { line in Terminal.isInteractive ? Terminal.progress(line) : Terminal.warn(line) }
                let planEngine = try kind.engine(settings)
                engineName = planEngine.description
                Terminal.progress("running the scan on \(planEngine.description)")
                var options = EngineScan.Options(
                    sourceSchema: engine.schema, targetSchema: engine.into, rulesPath: rules, outDirectory: folder)
                options.redact = redact
                options.previousFolder = previous
                options.mergeRounds = engine.mergeRounds
                result = try await EngineScan.run(engine: planEngine, rules: ruleSet, options: options, now: Clock.now())
            case .store:
                var options = ScanOptions(
                    outDirectory: folder, rulesPath: rules, full: full,
                    progress: { Terminal.progress("evaluated \(Terminal.count($0)) profiles", count: $0) })
                options.redact = redact
                options.previousFolder = previous
                if let results {
                    Terminal.progress("reading the result tables in \(results)")
                    result = try ResultsScan.run(directory: results, rules: ruleSet, options: options, now: Clock.now())
                } else if let export {
                    Terminal.progress("loading \(export)")
                    result = try ExportScan.run(
                        exportDirectory: export, rules: ruleSet, options: options, rejectsPath: rejects,
                        now: Clock.now())
                } else {
                    let db = try ProfileStore.openExisting(path: store)
                    result = try Scanner.run(store: db, rules: ruleSet, options: options, now: Clock.now())
                }
            }
            Terminal.endProgress()
            if ProcessInfo.processInfo.environment["IDAUDIT_TRACE"] != nil {
                // An engine's own memory is its business; this is idaudit's alone (RUSAGE_SELF).
                var usage = rusage()
                getrusage(RUSAGE_SELF.rawValue, &usage)
                Terminal.warn("idaudit peak memory (this process): \(usage.ru_maxrss / 1024) MiB")
            }
            if let junit {
                try OutputFile.write(JUnitReport.xml(totals: result.totals, rules: ruleSet, rulesPath: rules), to: junit)
            }
            switch format {
            case .text:
                print(ScanReportText.render(result, seconds: Clock.monotonic() - started, engine: engineName))
            case .json: print(result.summaryJSON, terminator: "")
            }
            try failIfNew(result.run)
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

/// What `scan --source ENGINE` reads: where the tables are, where the results go, and each engine's own settings.
struct EngineOptions: ParsableArguments {
    @Option(help: "The schema holding id_graph_updates and external_id_mapping_updates.")
    var schema = "profiles_sync"

    @Option(help: "The schema the result tables are written to (created when missing).")
    var into = "idaudit"

    @Option(help: "duckdb: a database file holding the --schema tables; clickhouse: a chdb folder (default: in memory, with --export).")
    var database: String?

    @Option(help: "spark: the master URL (local[2], spark://host:7077, yarn, k8s://...).")
    var master = "local[2]"

    @Option(help: "spark: a Spark setting key=value (repeatable), such as spark.executor.memory=8g.")
    var sparkConf: [String] = []

    @Option(help: "postgres: the longest a statement may run, in seconds.")
    var statementTimeout = 3600

    @Option(help: "duckdb, clickhouse, spark: stop the engine (its whole process group) after this many seconds; it prints its last log lines.")
    var timeout: Double?

    @Option(help: "Rounds of pointer jumping for merge chains (N rounds follow chains of up to 2^N merges).")
    var mergeRounds = PlanScript.defaultMergeRounds

    func validate() throws {
        guard (1...30).contains(mergeRounds) else { throw ValidationError("--merge-rounds takes 1 to 30") }
        if let timeout, !(timeout > 0 && timeout <= 31_536_000) {
            throw ValidationError("--timeout takes seconds, more than 0 and at most a year (31536000)")
        }
    }

    /// The engine settings these options make, reading `export` in place.
    func settings(export: String?) -> EngineSettings {
        var settings = EngineSettings()
        settings.schema = schema
        settings.exportDirectory = export
        settings.database = database
        settings.master = master
        settings.conf = sparkConf
        settings.statementTimeoutSeconds = statementTimeout
        settings.timeout = timeout
        return settings
    }
}

extension Scan {
    /// `--fail-on-new`: exit 2 when the comparison found new or reintroduced excess.
    func failIfNew(_ run: ScanRun?) throws {
        guard failOnNew, let run, run.previousRunID != nil, run.new + run.reintroduced > 0 else { return }
        Terminal.warn(
            "idaudit: \(Terminal.count(run.new)) new and \(Terminal.count(run.reintroduced)) reintroduced excess "
                + "identifiers since the previous scan; --fail-on-new: failing (exit 2)")
        throw ExitCode(2)
    }
}

/// The one text a scan prints for people, whatever the source.
enum ScanReportText {
    /// `engine`: the engine the scan ran on (nil: the store or an export, evaluated here).
    static func render(_ result: ScanResult, seconds: Double, engine: String? = nil) -> String {
        let t = result.totals
        // Profiles holding an active identifier: one whose identifiers were all removed or taken by later rows of
        // other profiles holds nothing to audit (the sample of 20,000 profiles has one such, hence 19,999).
        var out = "scanned \(Terminal.count(t.profiles)) profiles holding \(Terminal.count(t.identifiers)) active identifiers"
        out += " in \(Terminal.seconds(seconds))"
        if let engine {
            out += " on \(engine)\n"
        } else if let refresh = result.refresh {
            out += refresh.full
                ? " (all profiles evaluated)\n"
                : " (\(Terminal.count(refresh.evaluatedProfiles)) changed profiles re-evaluated)\n"
        } else {
            out += "\n"
        }
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
        if let run = result.run, let previous = run.previousRunID {
            out += "  since " + (previous == 0 ? "the previous scan (--previous)" : "run \(previous) (same rules)")
            out += ": \(Terminal.count(run.new)) new, "
            out += "\(Terminal.count(run.persisting)) persisting, \(Terminal.count(run.resolved)) resolved"
            if run.reintroduced > 0 {
                out += ", \(Terminal.count(run.reintroduced)) REINTRODUCED (deleted by apply, active again)"
            }
            out += "\n"
        }
        out += "  plan: \(result.files.joined(separator: ", "))"
        return out
    }
}
