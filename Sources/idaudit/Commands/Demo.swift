#if canImport(Glibc)
    import Glibc
#endif
import ArgumentParser
import IDAuditCore
import IDAuditRules
import IDAuditSample
import IDAuditScan
import IDAuditStore

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole job on sample data: sample -> ingest -> scan -> explain, into reports/demo/.",
        discussion: """
            Generates a sample Profiles Sync export, loads it into a fresh store (reports/demo/idaudit.sqlite), \
            scans it against rules/segment-recommended.yaml and explains one identifier of the plan. Run it from \
            the repository root; it takes a few seconds.
            """)

    @Option(help: "How many sample profiles.")
    var profiles = 20_000

    @Option(help: "The sample's random seed.")
    var seed: UInt64 = 7

    @Option(help: "The rules file.")
    var rules = "rules/segment-recommended.yaml"

    @Option(help: "The demo folder (replaced on each run).")
    var out = "reports/demo"

    func run() throws {
        try reportingFailures {
            let folder = out.hasSuffix("/") ? String(out.dropLast()) : out
            let exportDir = folder + "/export"
            let storePath = folder + "/idaudit.sqlite"
            let ruleSet = try RulesLoader.load(path: rules)
            for suffix in ["", "-journal", "-wal", "-shm"] { unlink(storePath + suffix) }

            print("1. idaudit sample --profiles \(profiles) --seed \(seed) --out \(exportDir)/")
            var started = Clock.monotonic()
            let sample = try SampleGenerator.write(
                SampleOptions(profiles: profiles, seed: seed), to: exportDir,
                progress: { Terminal.progress("generating: \(Int($0 * 100))%", fraction: $0) })
            Terminal.endProgress()
            print(
                "   \(Terminal.count(sample.mappingRows)) mapping rows, \(Terminal.count(sample.graphRows)) graph rows"
                    + " in \(Terminal.seconds(Clock.monotonic() - started))\n")

            print("2. idaudit ingest \(exportDir)/ --store \(storePath)")
            started = Clock.monotonic()
            let store = try ProfileStore(path: storePath)
            let ingest = try store.ingest(
                directory: exportDir, options: IngestOptions(progress: IngestCommandProgress.show))
            Terminal.endProgress()
            print(indent(IngestCommandProgress.summary(ingest, store: storePath, seconds: Clock.monotonic() - started)))
            print()

            print("3. idaudit scan --store \(storePath) --rules \(rules) --out \(folder)/")
            started = Clock.monotonic()
            let result = try Scanner.run(
                store: store, rules: ruleSet, options: ScanOptions(outDirectory: folder, rulesPath: rules),
                now: Clock.now())
            print(indent(ScanReportText.render(result, seconds: Clock.monotonic() - started)))
            print()

            var example: PlanLine?
            try store.forEachPlanLine { stored in
                if example == nil, stored.line.reason == .limit, stored.line.remediable, stored.line.type != "user_id" {
                    example = stored.line
                }
            }
            if let line = example,
                let explanation = try Explainer.explain(type: line.type, value: line.value, store: store, rules: ruleSet)
            {
                print("4. idaudit explain '\(line.type):\(line.value)' --store \(storePath) --rules \(rules)")
                print(indent(explanation.render()))
            }
            print("Next: open \(folder)/report.html in a browser (what is wrong, what will be deleted, and why);")
            print("      \(folder)/plan.csv is the plan itself, \(folder)/summary.json the counts.")
        }
    }

    private func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }.joined(separator: "\n")
    }
}
