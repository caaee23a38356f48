import ArgumentParser
import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditDeletion
import IDAuditStore

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply an approved plan: delete its identifiers at Segment or Insider One.",
        discussion: """
            Segment (--target segment): one POST per line to the Delete Profile Identifier API, addressed by the \
            line's lookup_user_id; only remediable lines are sent; a line whose value is its own lookup is \
            skipped. Budget: 100 requests/s per space and 100/s per profile. Token: IDAUDIT_SEGMENT_TOKEN or \
            --token-file (Unify > Unify settings > API access).

            Insider One (--target insider): the same plan cleans the downstream copy (Segment's deletion does not \
            reach destinations). One DELETE /api/user/v1/identity per line; every line is sent (the identifier \
            addresses the user), except one that would leave the profile, as the store knows it, with no \
            identifier. Types map to Insider keys: email -> email, phone -> phone_number (E.164), user_id -> uuid, \
            anything else -> a custom identifier of that name; --type-map FILE (`type: key` lines; key email, \
            phone_number, uuid, custom, custom:<name> or skip) overrides. Budget: 1,000 requests/min per key, \
            Insider One's limit for this endpoint (its rate limits are per endpoint; --max-rpm sets another); a \
            403 "Request Limit Exceeded" is throttling (backed off and retried), any other 403 stops. Token: \
            IDAUDIT_INSIDER_TOKEN or --token-file; partner name: IDAUDIT_INSIDER_PARTNER or --partner-file.

            Approval: the plan must be approved (`idaudit approve`) for exactly this destination (target, host, \
            space or partner, type map) and be younger than --max-plan-age, judged by the generated_at stamped \
            in the plan's own lines.

            Safe to run again: every attempt is journaled before and after it is sent, in the destination's \
            journal in $XDG_STATE_HOME/idaudit (else ~/.local/state/idaudit), whatever --store is; a line \
            already done is never sent twice; one run per destination at a time (a second one exits 3). A run \
            killed mid-flight resends only what was in flight; if that answers not-found, our earlier attempt \
            deleted it (done, already gone). A not-found on a line no attempt of ours can have deleted is \
            absent_before_apply: nothing was deleted, the run exits 1 and says to scan again; when more than \
            --max-absent-rate of the answers are such lines, the plan does not match the destination and the run \
            stops. 429, 5xx and network errors are retried with exponential backoff and jitter (Retry-After \
            honoured, up to 60 s) up to --max-attempts; a 429 also cuts the whole run's rate to 70%, which then \
            climbs back. 401 and 403 stop the run at once. --timeout bounds each whole exchange, body included. \
            --endpoint takes plain http:// only on this machine.

            Done means confirmed: a 2xx counts as deleted only when its body is the platform's documented success; \
            any other 2xx is unconfirmed (perhaps deleted, never counted so; --retry-unconfirmed sends it again).

            SIGINT or SIGTERM: no new request leaves, those in flight get their answers (each within --timeout), \
            the report is written, exit 130 or 143; a second signal exits at once (the journal stays consistent; \
            apply-report.json then says "running").

            Exit codes: 0 every line done or skipped by design (not remediable, group_id, sole identifier); 1 some \
            lines failed, were unconfirmed or were not there; 2 stopped (circuit breaker, token or space refused, \
            --max-deletes, canary); 3 could not start (no approval, approved for another destination, plan changed \
            or too old, no token, another run to this destination); 64 bad options; 130/143 stopped by a signal. \
            apply-report.json is written beside the plan (a failure to write it is a warning: the journal keeps \
            the report too).

            Examples:
              export IDAUDIT_SEGMENT_TOKEN=...
              idaudit approve reports/x/plan.csv --by dana@acme.io \\
                  --target segment --space spa_123
              idaudit apply reports/x/plan.csv --target segment --space spa_123 --canary 20
              idaudit apply reports/x/plan.csv --target segment --space spa_123 --yes
              export IDAUDIT_INSIDER_PARTNER=mybrand IDAUDIT_INSIDER_TOKEN=...
              idaudit apply reports/x/plan.csv --target insider --type-map map.yaml
              idaudit apply reports/x/plan.csv --target segment --space spa_1 \\
                  --endpoint http://127.0.0.1:8080
            """)

    @Argument(help: "The approved plan.csv.")
    var plan: String

    @OptionGroup(title: "Destination (must be the one the plan was approved for)")
    var destination: DestinationOptions

    @OptionGroup(title: "Who may approve")
    var signers: SignerOptions

    @Option(help: "Read the token from this file instead of the environment.")
    var tokenFile: String?

    @Option(help: "The SQLite store (Insider One's sole-identifier check; Segment: records what was deleted).")
    var store = "idaudit.sqlite"

    @Option(help: "The journal (default: the destination's, in $XDG_STATE_HOME/idaudit, else ~/.local/state/idaudit).")
    var journal: String?

    @OptionGroup(title: "Pace and limits")
    var sending: SendingOptions

    @Option(help: "Requests in flight at most (default: 4 seconds' worth of the budget).")
    var concurrency: Int?

    @Option(help: "Stop when more than this share of the last 200 attempts failed (5%, 0.05).")
    var maxErrorRate = "5%"

    @Option(help: "Stop when more than this share of the lines answered were not there before the run (10%).")
    var maxAbsentRate = "10%"

    @Flag(help: "Send again the lines that failed in an earlier run.")
    var retryFailed = false

    @Flag(
        help:
            "Send again the lines an earlier run's 2xx did not confirm (a body that is not the platform's documented success)."
    )
    var retryUnconfirmed = false

    @Option(help: "Refuse a plan older than this (7d, 36h, 90m).")
    var maxPlanAge = "7d"

    @Option(help: "A request's time limit, in seconds.")
    var timeout = 30.0

    @Flag(help: "Print what would be sent, send nothing (needs no approval and no token).")
    var dryRun = false

    func validate() throws {
        guard parseDuration(maxPlanAge) != nil else {
            throw ValidationError("--max-plan-age: expected 7d, 36h, 90m or 600s, at most 3650d")
        }
        guard parseShare(maxErrorRate) != nil else {
            throw ValidationError("--max-error-rate: expected a percent (5%) or a share (0.05)")
        }
        guard parseShare(maxAbsentRate) != nil else {
            throw ValidationError("--max-absent-rate: expected a percent (10%) or a share (0.1)")
        }
        do { try options().validate() } catch { throw ValidationError(error.message) }
    }

    /// The engine's options from the command line (validated by `validate`).
    private func options() -> ApplyOptions {
        var options = ApplyOptions()
        sending.apply(to: &options)
        options.concurrency = concurrency
        options.maxErrorRate = parseShare(maxErrorRate) ?? options.maxErrorRate
        options.maxAbsentRate = parseShare(maxAbsentRate) ?? options.maxAbsentRate
        options.retryFailed = retryFailed
        options.retryUnconfirmed = retryUnconfirmed
        options.timeoutSeconds = timeout
        return options
    }

    func run() async throws {
        try await reportingFailuresAsync {
            // Checked and copied aside in one pass: the lines sent are read from the copy, as they are sent.
            // (A dry run also works where the state folder cannot be written: it copies to the temporary folder.)
            let copyFolder =
                dryRun
                ? (try? JournalHome().privateFolder()) ?? NSTemporaryDirectory() : try JournalHome().privateFolder()
            let planFile = try PlanSnapshot(path: plan, directory: copyFolder)
            if dryRun {
                try printDryRun(planFile, try makeTarget(planFile: planFile, token: Secret("dry-run")))
                return
            }
            try destination.checkEndpoint()
            let approval = try Approval.check(
                path: planFile.path, sha256: planFile.sha256, stamp: planFile.stamp,
                destination: try destination.identifierDestination(), now: Clock.now(),
                maxAgeSeconds: parseDuration(maxPlanAge)!, allowedSigners: signers.allowedSigners)
            Terminal.warn("approval: \(Terminal.inert(approval.signature))")
            let deletionTarget = try makeTarget(
                planFile: planFile, token: try Secret.load(variable: tokenVariable, file: tokenFile))
            guard deletionTarget.destination == approval.destination else {
                // The partner or type map read for the check and for the target must be the same.
                throw ApprovalError(
                    message: "the destination changed while apply started (\(approval.destination) was checked, "
                        + "\(deletionTarget.destination) would be used): run again")
            }
            Terminal.warn(
                "applying \(plan) (approved by \(Terminal.inert(approval.approvedBy)) at \(Terminal.inert(approval.approvedAt))) to "
                    + "\(deletionTarget.destination)")
            if let rate = sending.requestsPerSecond, rate > deletionTarget.defaultRequestsPerSecond * 1.0001 {
                Terminal.warn(
                    "warning: \(Self.describe(rate: rate)) is above \(deletionTarget.name)'s documented budget of "
                        + "\(Self.describe(rate: deletionTarget.defaultRequestsPerSecond)); expect throttling unless "
                        + "your limit was raised")
            }
            var options = options()
            options.progress = { p in
                var text = "done \(Terminal.count(p.done))  failed \(Terminal.count(p.failed))  "
                if p.unconfirmed > 0 { text += "UNCONFIRMED \(Terminal.count(p.unconfirmed))  " }
                text += "skipped \(Terminal.count(p.skipped))  left \(Terminal.count(p.left))  "
                text += String(Int(p.rate.rounded())) + " req/s"
                if let eta = p.etaSeconds { text += "  ETA " + Approval.describe(seconds: Int64(eta)) }
                Terminal.progress(text)
            }
            let reportPath = folder(of: plan) + "apply-report.json"
            let (report, journalFile, locks) = try await DeletionRun(
                plan: planFile, target: deletionTarget, home: try JournalHome(), journal: journal,
                legacyJournal: Journal.legacyPath(besideStore: store), reportPath: reportPath, command: "apply",
                warn: { Terminal.warn($0) }, approval: approval.signature
            ).runHandlingSignals(options: options)
            // Held until the store records the deletions, not only while sending.
            defer { for lock in locks { lock.release() } }
            print(summary(report, reportPath: reportPath))
            if destination.target == .segment, destination.endpoint == nil,
                FileManager.default.fileExists(atPath: store)
            {
                // The store remembers what was deleted, so later scans tell reintroduced identifiers from new ones.
                // Not for a rehearsal against another endpoint: nothing was deleted at Segment.
                do {
                    try AppliedDeletions.record(
                        plan: planFile, journal: journalFile, destination: deletionTarget.destination,
                        store: try ProfileStore.openExisting(path: store), at: Clock.now())
                } catch {
                    Terminal.warn(
                        "warning: the deletions could not be recorded in \(store) (\(error)); later scans "
                            + "will count a reintroduced identifier as new")
                }
            }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }

    /// `100 requests/s`, or `1,000 requests/min` for a rate below 20/s.
    static func describe(rate: Double) -> String {
        rate >= 20
            ? "\(Terminal.count(Int(rate.rounded()))) requests/s"
            : "\(Terminal.count(Int((rate * 60).rounded()))) requests/min"
    }

    private var tokenVariable: String {
        destination.target == .segment ? "IDAUDIT_SEGMENT_TOKEN" : "IDAUDIT_INSIDER_TOKEN"
    }

    private func makeTarget(planFile: PlanSnapshot, token: Secret) throws -> any DeletionTarget {
        switch destination.target {
        case .segment:
            return SegmentTarget(space: destination.space!, baseURL: destination.baseURL, token: token)
        case .insider:
            let map = try destination.loadTypeMap()
            var counts: [String: [String: Int]]?
            if FileManager.default.fileExists(atPath: store) {
                var profiles = Set<String>()
                try planFile.forEach { profiles.insert($0.segmentID) }
                counts = try ProfileStore.openExisting(path: store).activeTypeCounts(onProfiles: profiles)
            } else {
                Terminal.warn(
                    "warning: no store at \(store): lines are not checked for leaving a profile without identifiers "
                        + "(Insider One's 400 answer still counts as skipped)")
            }
            return try InsiderTarget(
                partner: try destination.partner(), baseURL: destination.baseURL, token: token, typeMap: map,
                identifierCounts: counts)
        }
    }

    /// What a run would send now: the plan's lines less what the destination's journal has done (or, without
    /// --retry-*, failed or left unconfirmed).
    private func printDryRun(_ planFile: PlanSnapshot, _ target: any DeletionTarget) throws {
        let recorded = try JournalHome().recordedJournal(for: target.destination)
        if let journal, let recorded, JournalHome.absolute(journal) != JournalHome.absolute(recorded) {
            Terminal.warn(
                "warning: \(target.destination) is journaled in \(recorded): a real run with --journal \(journal) "
                    + "would be refused; this dry run reads \(recorded)")
        }
        let journalPath = recorded ?? journal
        var journalFile: Journal?
        if let journalPath, FileManager.default.fileExists(atPath: journalPath) {
            journalFile = try Journal(path: journalPath)
        }
        // As the real run would: --max-deletes caps it, a canary without --yes stops it for review.
        let options = options()
        let canary = options.continueAfterCanary ? nil : options.canary
        let limit = min(options.maxDeletes ?? .max, canary ?? .max)
        var printed = 0
        let sorted = try ApplyEngine.linesToSend(
            plan: planFile, target: target, journal: journalFile, options: options
        ) { entry in
            guard printed < limit, case .send(let request) = target.prepare(entry) else { return }
            printed += 1
            print("line \(entry.line): \(request.redactedDescription)")
        }
        var capNote = ""
        if printed < sorted.sendable {
            capNote =
                " (of \(Terminal.count(sorted.sendable)) lines to send: "
                + (printed == options.maxDeletes ? "--max-deletes" : "--canary, then a review") + ")"
        }
        print(
            "dry run: \(Terminal.count(printed)) requests would be sent to \(target.destination)\(capNote); nothing "
                + "was sent")
        if let journalPath, journalFile != nil {
            print("  journal \(journalPath): \(Terminal.count(sorted.doneEarlier)) lines done in earlier runs")
            if sorted.failedEarlierCount > 0 {
                print("  \(Terminal.count(sorted.failedEarlierCount)) failed earlier (--retry-failed sends them)")
            }
            if sorted.unconfirmedEarlierCount > 0 {
                print(
                    "  \(Terminal.count(sorted.unconfirmedEarlierCount)) unconfirmed earlier (--retry-unconfirmed sends "
                        + "them)")
            }
            if sorted.absentEarlierCount > 0 {
                print("  \(Terminal.count(sorted.absentEarlierCount)) were not there (never sent again)")
            }
        } else {
            print("  no journal for \(target.destination) yet: nothing of this plan was sent there")
        }
        for (reason, count) in sorted.skipReasons.sorted(by: { $0.value > $1.value }) {
            print("  skipped \(Terminal.count(count)): \(Terminal.inert(reason))")
        }
        let rate = sending.requestsPerSecond ?? target.defaultRequestsPerSecond
        let seconds = Int64((Double(printed) / rate).rounded(.up))
        print("  at \(Self.describe(rate: rate)): about \(Approval.describe(seconds: seconds))")
    }

    private func summary(_ r: ApplyReport, reportPath: String) -> String {
        var out = "\(r.target) \(r.destination): \(Terminal.count(r.done)) deleted"
        if r.alreadyAbsent > 0 {
            out += " (\(Terminal.count(r.alreadyAbsent)) already gone, after an earlier attempt of ours whose answer "
            out += "was lost: probably ours)"
        }
        out += ", \(Terminal.count(r.failed)) failed"
        if r.failedInDoubt > 0 {
            out += " (\(Terminal.count(r.failedInDoubt)) in doubt: an attempt got no answer or a 5xx, perhaps carried "
            out += "out; --retry-failed sends them again, where a not-found counts as gone)"
        }
        out += ", \(Terminal.count(r.skipped)) skipped"
        if r.doneEarlier > 0 { out += ", \(Terminal.count(r.doneEarlier)) done in earlier runs" }
        if r.notSent > 0 { out += ", \(Terminal.count(r.notSent)) not done" }
        if r.inDoubt > 0 {
            out +=
                " (\(Terminal.count(r.inDoubt)) in doubt: sent, perhaps carried out (no answer, a 5xx, or an answer the journal could not record); resent next "
            out += "run, where a not-found counts as gone)"
        }
        out += "\n  \(Terminal.count(r.requests)) requests in \(Terminal.seconds(r.seconds))"
        out += " (\(String(format: "%.1f", r.requestsPerSecond)) req/s, \(Terminal.count(r.throttled)) throttled,"
        out += " \(Terminal.count(r.retried)) retried)"
        for (reason, count) in r.skipReasons.sorted(by: { $0.value > $1.value }) {
            out += "\n  skipped \(Terminal.count(count)): \(Terminal.inert(reason))"
        }
        for failure in r.failures.prefix(5) {
            out += "\n  failed line \(failure.line) (\(failure.type)): \(Terminal.inert(failure.failure.summary))"
        }
        if r.failures.count > 5 { out += "\n  ... \(r.failures.count - 5) more failures in \(reportPath)" }
        if r.unconfirmed > 0 {
            out +=
                "\n  UNCONFIRMED: \(Terminal.count(r.unconfirmed)) lines were answered 2xx with a body that is not the "
            out +=
                "platform's documented success (listed in unconfirmed_lines, first 200 bytes each): perhaps deleted, "
            out += "never counted so; check them, then --retry-unconfirmed sends them again"
            for line in r.unconfirmedLines.prefix(3) {
                out += "\n    line \(line.line) (\(line.type)): \(Terminal.inert(line.failure.summary))"
            }
        }
        if r.absentBeforeApply > 0 {
            out +=
                "\n  NOT THERE: \(Terminal.count(r.absentBeforeApply)) lines were not at \(r.destination) before this "
            out += "apply (nothing was deleted for them; listed in absent_lines): scan again, the plan is stale or "
            out += "meant for another destination"
        }
        if r.rateDecreases > 0 {
            out += "\n  throttling slowed the run \(r.rateDecreases) times, down to "
            out += "\(String(format: "%.1f", r.lowestRate)) req/s"
        }
        if let stopped = r.stopped { out += "\n  STOPPED: \(Terminal.inert(stopped))" }
        if !r.canaryLines.isEmpty {
            out += "\n  canary: the \(Terminal.count(r.canaryLines.count)) lines it sent, with what each became: "
            out += DeletionRun.canaryPath(report: reportPath)
        }
        out += "\n  report: \(reportPath)"
        return out
    }
}

/// The folder of a file path, with a trailing slash ("" for a bare name).
func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return String(path[...slash])
}

/// A share given as a percent (`5%`) or a fraction (`0.05`), within 0 and 1.
func parseShare(_ text: String) -> Double? {
    let t = text.trimmingCharacters(in: .whitespaces)
    let value = t.hasSuffix("%") ? Double(t.dropLast()).map { $0 / 100 } : Double(t)
    return value.flatMap { (0...1).contains($0) ? $0 : nil }
}
