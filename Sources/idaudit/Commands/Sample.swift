import ArgumentParser
import IDAuditSample

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a realistic, deterministic Profiles Sync export for demos, tests and benchmarks.",
        discussion: """
            Writes id_graph_updates.csv and external_id_mapping_updates.csv with the columns a warehouse unload \
            has, and the mess real spaces have: merges and merge chains, profiles with several user_ids, email \
            sprawl, bursts of anonymous ids, junk values (null, -1, 0000), REMOVED rows and reintroductions, \
            backfilled rows with an empty TIMESTAMP, rows in no particular order; about 7-8 mapping rows per \
            profile. The same --seed always writes the same bytes.
            """)

    @Option(help: "How many profiles.")
    var profiles = 10_000

    @Option(help: "The random seed.")
    var seed: UInt64 = 7

    @Option(help: "The output folder.")
    var out = "export/"

    @Flag(help: "A messier space: about a fifth of the mapping rows in excess under rules/segment-recommended.yaml (by default about 4%), for benchmarks on heavy excess.")
    var heavyExcess = false

    func validate() throws {
        guard profiles > 0 else { throw ValidationError("--profiles must be positive") }
    }

    func run() throws {
        try reportingFailures {
            let started = Clock.monotonic()
            var options = SampleOptions(profiles: profiles, seed: seed)
            options.heavyExcess = heavyExcess
            let result = try SampleGenerator.write(
                options, to: out,
                progress: { Terminal.progress("generating: \(Int($0 * 100))%", fraction: $0) })
            Terminal.endProgress()
            print(
                "wrote \(Terminal.count(result.profiles)) profiles to \(out): "
                    + "\(Terminal.count(result.mappingRows)) mapping rows, \(Terminal.count(result.graphRows)) graph rows "
                    + "in \(Terminal.seconds(Clock.monotonic() - started))")
        }
    }
}
