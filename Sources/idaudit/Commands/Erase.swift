import ArgumentParser
import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditDeletion

struct Erase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete user attributes at Insider One (GDPR erasure), batched.",
        discussion: """
            USERS is a JSONL file: one user object per line, exactly as one element of the `users` array of \
            Insider One's Delete User Attribute API:
              {"identifiers":{"email":"a@x.com"},"whole":["name","surname"]}
              {"identifiers":{"uuid":"u-1"},"partial":{"static_segment_id":[1,2]}}
              {"insider_id":"abc","custom":{"whole":["loyalty_tier"]}}
            identifiers: email, phone_number (E.164), uuid, custom {name: value}; or insider_id. whole deletes \
            attributes entirely; partial removes values from array attributes; custom holds the same for custom \
            attributes. Deletion cannot be undone.

            Every line is checked before anything is sent (FILE:LINE: what is wrong). Identifier attributes \
            (email, phone_number, uuid, the line's custom identifiers) are refused: this API cannot delete them; \
            use `idaudit apply --target insider`. Users go out in POST /api/user/v1/attribute/delete requests of at \
            most 1,000 users and 5 MB.

            Budget: 25,000 requests/min, SHARED WITH INSIDER ONE'S USER UPSERT API: if your pipelines upsert at \
            the same time, lower --max-rps. Like apply: the file must be approved for this destination \
            (`idaudit approve FILE --by NAME --target insider`), approved less than --max-approval-age ago; \
            journaled and resumable, keyed by the file's sha256 and each user's line (a resumed run batches only \
            the users not done); --canary, --yes and --max-deletes count requests. A 200 that reports failed users inside \
            its body is a failed request, never done. Token: IDAUDIT_INSIDER_TOKEN or --token-file; partner \
            name: IDAUDIT_INSIDER_PARTNER or --partner-file. Exit codes as apply.

            Example:
              export IDAUDIT_INSIDER_TOKEN=... IDAUDIT_INSIDER_PARTNER=mybrand
              idaudit approve requests.jsonl --by dana@acme.io --target insider
              idaudit erase requests.jsonl --target insider --canary 1
            """)

    @Argument(help: "The JSONL file of users and attributes to delete.")
    var users: String

    @OptionGroup(title: "Destination (must be the one the file was approved for)")
    var destination: DestinationOptions

    @OptionGroup(title: "Who may approve")
    var signers: SignerOptions

    @Option(help: "Read the token from this file instead of IDAUDIT_INSIDER_TOKEN.")
    var tokenFile: String?

    @Option(help: "The journal (default: the destination's, in $XDG_STATE_HOME/idaudit, else ~/.local/state/idaudit).")
    var journal: String?

    @Option(help: "Refuse an approval older than this (7d, 36h, 90m): a request is reviewed for now, not for good.")
    var maxApprovalAge = "7d"

    @OptionGroup(title: "Pace and limits (the budget, 25,000 requests/min, is shared with Upsert)")
    var sending: SendingOptions

    @Flag(help: "Print the batches that would be sent, send nothing (needs no approval and no token).")
    var dryRun = false

    @Option(help: "A request's time limit, in seconds (the whole exchange, body included).")
    var timeout = 60.0

    @Option(
        help: """
            Users per request, 1 to 1,000 (Insider One's limit, the default). Fewer make smaller requests: a failed \
            one holds fewer users, and the canary and --max-deletes count finer.
            """)
    var usersPerRequest = EraseFile.maxUsersPerRequest

    func validate() throws {
        guard (1...EraseFile.maxUsersPerRequest).contains(usersPerRequest) else {
            throw ValidationError("--users-per-request: expected 1 to 1,000 (Insider One's limit per request)")
        }
        guard parseDuration(maxApprovalAge) != nil else {
            throw ValidationError("--max-approval-age: expected 7d, 36h, 90m or 600s, at most 3650d")
        }
        var options = ApplyOptions()
        sending.apply(to: &options)
        options.timeoutSeconds = timeout
        do { try options.validate() } catch { throw ValidationError(error.message) }
    }

    @Flag(help: "Send again the requests that failed in an earlier run.")
    var retryFailed = false

    @Flag(help: "Send again the requests an earlier run's 2xx did not confirm (a body other than {}).")
    var retryUnconfirmed = false

    /// What a run would send now: the users the destination's journal has not settled, batched as a run would, up
    /// to --max-deletes requests, or the canary's without --yes.
    private func printDryRun(_ list: [EraseUser]) throws {
        var states: [Int: LineState] = [:]
        var journalNote = "no journal for this destination yet: nothing of this file was sent there"
        if let destination = try? destination.attributeDestination().key {
            let recorded = try JournalHome().recordedJournal(for: destination) ?? journal
            if let recorded, FileManager.default.fileExists(atPath: recorded) {
                let sha = try EraseFile.read(path: users).sha256
                states = try Journal(path: recorded).lineStates(plan: sha, destination: destination)
                journalNote = "journal \(recorded): \(Terminal.count(states.values.count { $0.state == .done })) users "
                    + "done in earlier runs"
            }
        } else {
            journalNote = "the partner name is not set (IDAUDIT_INSIDER_PARTNER or --partner-file): the journal was not "
                + "read, every user is listed"
        }
        var options = ApplyOptions()
        sending.apply(to: &options)
        let canary = options.continueAfterCanary ? nil : options.canary
        let limit = min(options.maxDeletes ?? .max, canary ?? .max)
        let batches = EraseFile.resumedBatches(
            list, states: states, maxUsers: usersPerRequest, retryFailed: retryFailed, retryUnconfirmed: retryUnconfirmed
        ).filter { batch in
            // The batches a run sends: never sent, or sent again as the --retry flags ask.
            switch states[batch[0].line]?.state {
            case .done, .absentBeforeApply: false
            case .failed: retryFailed
            case .unconfirmed: retryUnconfirmed
            default: true
            }
        }
        for (index, batch) in batches.prefix(limit).enumerated() {
            print(
                "request \(index + 1): lines \(batch.first!.line)-\(batch.last!.line), \(batch.count) users, "
                    + "\(EraseFile.body(batch).utf8.count) bytes")
        }
        let shown = min(limit, batches.count)
        print(
            "dry run: \(Terminal.count(shown)) requests would be sent"
                + (shown < batches.count
                    ? " (of \(Terminal.count(batches.count)): "
                        + (shown == options.maxDeletes ? "--max-deletes" : "--canary, then a review") + ")" : "")
                + "; nothing was sent")
        print("  " + journalNote)
    }

    func run() async throws {
        try await reportingFailuresAsync {
            let (sha, list) = try EraseFile.read(path: users)
            let batches = EraseFile.batches(list, maxUsers: usersPerRequest)
            print(
                "\(Terminal.count(list.count)) users, requests of ≤ \(Terminal.count(usersPerRequest)) users and ≤ 5 MB "
                    + "(users done in earlier runs are left out)")
            if dryRun {
                try printDryRun(list)
                return
            }
            try destination.checkEndpoint()
            let approval = try Approval.check(
                path: users, sha256: sha, stamp: nil, destination: try destination.attributeDestination(),
                now: Clock.now(), maxAgeSeconds: parseDuration(maxApprovalAge)!,
                allowedSigners: signers.allowedSigners)
            Terminal.warn("approval: \(Terminal.inert(approval.signature))")
            Terminal.warn(
                "erasing \(users) (approved by \(Terminal.inert(approval.approvedBy)) at \(Terminal.inert(approval.approvedAt))) at \(Terminal.inert(approval.destination))"
            )
            let token = try Secret.load(variable: "IDAUDIT_INSIDER_TOKEN", file: tokenFile)
            let deletionTarget = try InsiderAttributeTarget(
                partner: try destination.partner(), baseURL: destination.baseURL, token: token)
            var options = ApplyOptions()
            sending.apply(to: &options)
            options.progress = { p in
                Terminal.progress("requests done \(p.done)  failed \(p.failed)  left \(p.left)")
            }
            options.timeoutSeconds = timeout
            options.retryFailed = retryFailed
            options.retryUnconfirmed = retryUnconfirmed
            guard deletionTarget.destination == approval.destination else {
                throw ApprovalError(
                    message: "the destination changed while erase started (\(approval.destination) was checked, "
                        + "\(deletionTarget.destination) would be used): run again")
            }
            let reportPath = users + ".erase-report.json"
            let path = users
            let (usersPerRequest, retryFailed, retryUnconfirmed) = (usersPerRequest, retryFailed, retryUnconfirmed)
            let (report, _, locks) = try await DeletionRun(
                plan: EraseFile.plan(path: users, sha256: sha, batches: batches), target: deletionTarget,
                home: try JournalHome(), journal: journal,
                legacyJournal: "idaudit-journal.sqlite", reportPath: reportPath, command: "erase",
                warn: { Terminal.warn($0) }, approval: approval.signature,
                refine: { states in
                    EraseFile.plan(
                        path: path, sha256: sha,
                        batches: EraseFile.resumedBatches(
                            list, states: states, maxUsers: usersPerRequest, retryFailed: retryFailed,
                            retryUnconfirmed: retryUnconfirmed))
                }
            ).runHandlingSignals(options: options)
            defer { for lock in locks { lock.release() } }
            print(
                "\(Terminal.count(report.done)) requests done (users done in earlier runs are not sent again), "
                    + "\(Terminal.count(report.failed)) failed, \(Terminal.count(report.unconfirmed)) unconfirmed (a 2xx "
                    + "other than {}: perhaps done; --retry-unconfirmed sends them again); report: \(reportPath)")
            for failure in (report.failures + report.unconfirmedLines).prefix(5) {
                print("  request \(failure.line): \(Terminal.inert(failure.failure.summary))")
            }
            if report.skipped > 0 {
                print("  \(Terminal.count(report.skipped)) requests skipped (nothing erased by them):")
                for (reason, count) in report.skipReasons.sorted(by: { $0.value > $1.value }) {
                    print("    \(Terminal.count(count)): \(Terminal.inert(reason))")
                }
            }
            if report.absentBeforeApply > 0 {
                print("  \(Terminal.count(report.absentBeforeApply)) requests found no such user (nothing erased):")
                for line in report.absentLines.prefix(5) {
                    print("    request \(line.line): \(Terminal.inert(line.failure.summary))")
                }
            }
            if report.notSent > 0 { print("  \(Terminal.count(report.notSent)) requests not sent") }
            if let stopped = report.stopped { print("  STOPPED: \(Terminal.inert(stopped))") }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
