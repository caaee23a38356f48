import ArgumentParser
import Foundation
import IDAuditCore
import IDAuditEmulator
import IDAuditStore

struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve local Segment and Insider One delete endpoints over a store, to rehearse an apply.",
        discussion: """
            Endpoints, with the platforms' status codes, error codes and messages:
              POST   /v1/spaces/{space}/collections/users/profiles/user_id:{id}/external_ids/delete   (Segment)
              DELETE /api/user/v1/identity                                                      (Insider One)
              POST   /api/user/v1/attribute/delete                                              (Insider One)
            Segment deletions are written to the store as REMOVED rows of external_id_mapping_updates, as \
            Profiles Sync would: scan again afterwards and the profiles are clean; verify works against it. \
            Insider One's side sees each canonical profile as one user and keeps its deletions in memory; \
            user attributes come from --insider-users.

            The one token accepted (Segment's Basic user, Insider One's X-REQUEST-TOKEN) comes from \
            IDAUDIT_EMULATOR_TOKEN or --token (a local test token, not a real secret). Any space id and partner \
            name are accepted. Budgets (429 beyond them): --segment-rps per space and per profile, --insider-rpm \
            per partner. Faults: --latency-ms on every answer, --fail-rate of answers are 500s (--seed).

            Example:
              IDAUDIT_EMULATOR_TOKEN=t idaudit emulate --port 8080 --store idaudit.sqlite &
              IDAUDIT_SEGMENT_TOKEN=t idaudit apply plan.csv --target segment --space spa_1 \\
                  --endpoint http://127.0.0.1:8080
            """)

    @Option(help: "The port to listen on (0: any free port).")
    var port = 8080

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The SQLite store to serve.")
    var store = "idaudit.sqlite"

    @Option(help: "The token to accept (default: IDAUDIT_EMULATOR_TOKEN).")
    var token: String?

    @Option(help: "Segment deletions per second, per space and per profile.")
    var segmentRps = 100.0

    @Option(help: "Insider One requests per minute per partner.")
    var insiderRpm = 25_000.0

    @Option(help: "Milliseconds added to every answer.")
    var latencyMs = 0

    @Option(help: "Share of requests answered 500 (0 to 1).")
    var failRate = 0.0

    @Option(help: "Seed of the fault generator.")
    var seed: UInt64 = 1

    @Option(help: "A space whose deletion feature is not activated (403); repeatable.")
    var deactivatedSpace: [String] = []

    @Option(help: "Insider One type map file (type: key per line).")
    var typeMap: String?

    @Option(help: "Insider One users' attributes: JSONL of {\"identifiers\": {...}, \"attributes\": {...}}.")
    var insiderUsers: String?

    func validate() throws {
        guard (0...1).contains(failRate) else { throw ValidationError("--fail-rate must be between 0 and 1") }
        guard segmentRps > 0, insiderRpm > 0 else { throw ValidationError("budgets must be above 0") }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            guard let token = token ?? ProcessInfo.processInfo.environment["IDAUDIT_EMULATOR_TOKEN"], !token.isEmpty
            else {
                throw ValidationError("no token: set IDAUDIT_EMULATOR_TOKEN or pass --token")
            }
            var options = EmulatorOptions(token: token)
            options.host = host
            options.port = port
            options.segmentPerSpace = segmentRps
            options.segmentPerProfile = segmentRps
            options.insiderPerMinute = insiderRpm
            options.latencyMilliseconds = latencyMs
            options.failRate = failRate
            options.seed = seed
            options.deactivatedSpaces = Set(deactivatedSpace)
            if let typeMap {
                guard let data = FileManager.default.contents(atPath: typeMap) else {
                    throw ValidationError("--type-map \(typeMap): cannot read the file")
                }
                options.typeMap = try InsiderTypeMap.parse(String(decoding: data, as: UTF8.self), file: typeMap)
            }
            if let insiderUsers {
                guard let data = FileManager.default.contents(atPath: insiderUsers) else {
                    throw ValidationError("--insider-users \(insiderUsers): cannot read the file")
                }
                options.insiderUsers = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
            }
            let emulator = Emulator(store: try ProfileStore.openExisting(path: store), options: options)
            let host = self.host
            try await emulator.run { port in
                Terminal.warn("emulating Segment and Insider One on http://\(host):\(port) over \(store) (Ctrl-C to stop)")
            }
            let statistics = await emulator.statistics()
            let statuses = statistics.byStatus.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            print(
                "stopped: \(statistics.requests) requests (\(statuses.joined(separator: ", "))), "
                    + "\(statistics.segmentDeletions) Segment deletions, \(statistics.insiderDeletions) Insider One "
                    + "identifier deletions, \(statistics.attributeUsers) users' attributes changed")
        }
    }
}
