import ArgumentParser
import IDAuditRules
import IDAuditScan
import IDAuditStore

struct RequestPlan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request-plan",
        abstract: "Plan the deletion of identifiers you list (bulk clean-up of mistaken imports).",
        discussion: """
            Segment has no batch or CSV deletion: identifiers are deleted one request at a time, and each request \
            must be addressed by a user_id of the profile. request-plan maps every listed identifier to its \
            profile and to that user_id, and writes a plan that approve and apply take like a scan's plan.

            REQUESTS is a CSV with a header: type,value (required, any case and order), segment_id (optional: any \
            segment id of the profile you mean, merged or canonical) and note (optional, kept in plan.json). \
            .csv.gz works too. A bad line stops with FILE:LINE: what is wrong and nothing is planned, unless \
            --rejects FILE takes the bad lines.

            Per request: not active in the store -> not_found; segment_id of another profile -> profile_mismatch; \
            the same identifier twice -> planned once; protected by --rules -> protected; every user_id of a \
            profile requested -> the newest stays (last_user_id: Segment refuses to remove a profile's last \
            user_id) and addresses the others. group_id lines and profiles without a user_id are planned with \
            remediable=false.

            Writes plan.csv (reason requested), plan.json, summary.json (with what the apply costs at 100 \
            requests/s) and unresolved.csv (line, request, reason) to --out.
            """)

    @Argument(help: "The request CSV (type,value[,segment_id][,note]).")
    var requests: String

    @Option(help: "The SQLite store.")
    var store = "idaudit.sqlite"

    @Option(help: "The output folder (default: reports/<UTC date-time>/).")
    var out: String?

    @Option(help: "A rules file whose protected values are never planned.")
    var rules: String?

    @Option(help: "Write bad request lines to this CSV file (file,line,reason,record) instead of stopping.")
    var rejects: String?

    func run() throws {
        try reportingFailures {
            let started = Clock.monotonic()
            let ruleSet = try rules.map { try RulesLoader.load(path: $0) }
            let db = try ProfileStore.openExisting(path: store)
            let folder = out ?? Clock.defaultReportFolder()
            let result = try RequestPlanner.run(
                store: db,
                options: RequestPlanOptions(requestsPath: requests, outDirectory: folder, rules: ruleSet, rejectsPath: rejects),
                now: Clock.now())
            var text = "planned \(Terminal.count(result.planned)) of \(Terminal.count(result.requestLines)) request lines"
            text += " on \(Terminal.count(result.profiles)) profiles in \(Terminal.seconds(Clock.monotonic() - started))\n"
            text += "  remediable \(Terminal.count(result.remediable)), not remediable "
            text += "\(Terminal.count(result.planned - result.remediable))\n"
            text += "  \(RequestPlanner.costSummary(deletions: result.remediable))\n"
            if result.duplicates > 0 { text += "  duplicate lines (planned once): \(Terminal.count(result.duplicates))\n" }
            if result.rejected > 0 { text += "  rejected lines: \(Terminal.count(result.rejected)) (see \(rejects ?? ""))\n" }
            for (reason, count) in result.unresolved.sorted(by: { $0.key < $1.key }) {
                text += "  unresolved \(reason.rawValue): \(Terminal.count(count))\n"
            }
            text += "  files: \(result.files.joined(separator: ", "))"
            print(text)
        }
    }
}
