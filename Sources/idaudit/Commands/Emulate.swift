import ArgumentParser
import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditStore

struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve local Segment and Insider One delete endpoints over a store, to rehearse an apply.",
        discussion: """
            Endpoints, with the platforms' status codes, error codes and messages:
              Segment      POST   /v1/spaces/{space}/collections/users/profiles/
                                    user_id:{id}/external_ids/delete
              Insider One  DELETE /api/user/v1/identity
              Insider One  POST   /api/user/v1/attribute/delete

            The store is only read: deletions are kept in memory, so a rehearsal never changes the store your \
            scans and verify rely on. --write-store writes Segment deletions into it as REMOVED rows of \
            external_id_mapping_updates, as Profiles Sync would (scan again afterwards and the profiles are \
            clean): use it on a COPY of a store. Insider One's side sees each canonical profile as one user and \
            keeps its deletions in memory; user attributes come from --insider-users.

            The one token accepted (Segment's Basic user, Insider One's X-REQUEST-TOKEN) comes from \
            IDAUDIT_EMULATOR_TOKEN, never the command line. Any space id and partner name are accepted. Budgets \
            (429 beyond them): --segment-rps per space and per profile; per partner and per endpoint, as \
            Insider One counts them, --insider-identity-rpm (1,000) and --insider-attribute-rpm (25,000); \
            --insider-throttle-403 answers Insider One's throttling as 403 "Request Limit Exceeded". Faults: \
            --latency-ms on every answer, --fail-rate of answers are 500s, --throttle-rate are 429s (--seed).

            Example:
              cp idaudit.sqlite rehearsal.sqlite
              IDAUDIT_EMULATOR_TOKEN=rehearsal-token idaudit emulate --port 8080 \\
                  --store rehearsal.sqlite --write-store &
              idaudit approve plan.csv --by me --target segment --space spa_1 \\
                  --endpoint http://127.0.0.1:8080
              export IDAUDIT_SEGMENT_TOKEN=rehearsal-token
              idaudit apply plan.csv --target segment --space spa_1 \\
                  --endpoint http://127.0.0.1:8080 --store rehearsal.sqlite
            """)

    @Option(help: "The port to listen on (0: any free port).")
    var port = 8080

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The SQLite store to serve.")
    var store = "idaudit.sqlite"

    @Flag(help: "Write Segment deletions into the store as REMOVED rows (for a copy of a store).")
    var writeStore = false

    @Option(help: "Segment deletions per second, per space and per profile.")
    var segmentRps = 100.0

    @Option(help: "Insider One DELETE /api/user/v1/identity requests per minute per partner (documented: 1,000).")
    var insiderIdentityRpm = InsiderTarget.identityRequestsPerMinute

    @Option(
        help: "Insider One attribute-delete requests per minute per partner (documented: 25,000, shared with Upsert).")
    var insiderAttributeRpm = InsiderAttributeTarget.requestsPerMinute

    @Flag(
        name: .customLong("insider-throttle-403"),
        help: "Answer Insider One's throttling as 403 \"Request Limit Exceeded\" instead of 429 (it does both).")
    var insiderThrottle403 = false

    @Option(help: "Milliseconds added to every answer.")
    var latencyMs = 0

    @Option(help: "Share of requests answered 500 (0 to 1).")
    var failRate = 0.0

    @Option(help: "Share of requests answered 429 whatever the budget (0 to 1): a throttling storm.")
    var throttleRate = 0.0

    @Option(
        name: .customLong("odd-2xx-rate"),
        help:
            "Share of deletions answered 200 with a body that is not the documented success (0 to 1), deleting nothing: apply must call them unconfirmed."
    )
    var odd2xxRate = 0.0

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
        guard (0...1).contains(throttleRate) else { throw ValidationError("--throttle-rate must be between 0 and 1") }
        guard (0...1).contains(odd2xxRate) else { throw ValidationError("--odd-2xx-rate must be between 0 and 1") }
        guard segmentRps > 0, insiderIdentityRpm > 0, insiderAttributeRpm > 0 else {
            throw ValidationError("budgets must be above 0")
        }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            guard let token = ProcessInfo.processInfo.environment["IDAUDIT_EMULATOR_TOKEN"], !token.isEmpty else {
                throw ValidationError(
                    "no token: set IDAUDIT_EMULATOR_TOKEN (tokens are never taken from the command line)")
            }
            var options = EmulatorOptions(token: token)
            options.host = host
            options.port = port
            options.segmentPerSpace = segmentRps
            options.segmentPerProfile = segmentRps
            options.insiderIdentityPerMinute = insiderIdentityRpm
            options.insiderAttributePerMinute = insiderAttributeRpm
            options.insiderThrottleAs403 = insiderThrottle403
            options.latencyMilliseconds = latencyMs
            options.failRate = failRate
            options.throttleRate = throttleRate
            options.odd2xxRate = odd2xxRate
            options.writeToStore = writeStore
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
                Terminal.warn(
                    "emulating Segment and Insider One on http://\(host):\(port) over \(store)"
                        + (writeStore ? ", writing deletions into it" : ", read-only") + " (Ctrl-C to stop)")
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
