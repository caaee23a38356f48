import ArgumentParser
import IDAuditScan
import IDAuditStore

struct MergePlansCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-plans",
        abstract: "Merge the N shard plans of a sharded scan into one plan, as if unsharded.",
        discussion: """
            Each folder holds the output of `scan --shard i/N`; all of 1/N ... N/N must be given, scanned with the \
            same rules. Writes plan.csv (byte for byte the unsharded plan), plan.json and summary.json to --out.

            Example:
              for i in $(seq 16); do idaudit scan --source postgres --rules r.yaml --shard $i/16 \\
                  --out reports/x/shard-$i/ & done; wait
              idaudit merge-plans reports/x/shard-*/ --out reports/x/
            """)

    @Argument(help: "The shard folders.")
    var folders: [String]

    @Option(help: "The output folder.")
    var out: String

    func run() throws {
        try reportingFailures {
            let result = try MergePlans.run(folders: folders, outDirectory: out, now: Clock.now())
            print(
                "merged \(folders.count) shards: \(Terminal.count(result.totals.profiles)) profiles, "
                    + "\(Terminal.count(result.planLines)) plan lines (\(Terminal.count(result.remediableLines)) remediable)")
            print("  plan: \(result.files.joined(separator: ", "))")
        }
    }
}
