import Foundation

/// What one `apply` run did: `apply-report.json` beside the plan, and the summary on the terminal.
public struct ApplyReport: Sendable, Codable {
    /// The plan's path.
    public var plan: String
    /// The plan's sha256.
    public var planSHA256: String
    /// `segment` or `insider`.
    public var target: String
    /// The destination, without secrets.
    public var destination: String
    /// `finished`, or `stopped` (see ``stopped``); a report of a run still going (or killed) says `running`.
    public var outcome: String
    /// The journal that records every attempt (what `verify` and the next run read).
    public var journal: String
    /// What the approval's signature says: `signed by ...`, or `unsigned (...)` (set by the caller that checked it).
    public var approval: String?
    /// When the run started (UTC).
    public var startedAt: String
    /// When it ended.
    public var finishedAt: String
    /// Wall-clock seconds.
    public var seconds: Double
    /// Lines in the plan.
    public var lines: Int
    /// Lines deleted in this run (including already absent).
    public var done: Int
    /// Of ``done``, those the platform said were already gone.
    public var alreadyAbsent: Int
    /// Lines deleted in earlier runs (not sent again).
    public var doneEarlier: Int
    /// Lines the platform said were not there although no attempt of ours can have removed them (this run or
    /// earlier ones): nothing was deleted. Re-scan: the plan is stale or meant for another destination.
    public var absentBeforeApply: Int
    /// Lines not sent, by reason.
    public var skipped: Int
    /// Lines that failed in this run, or in an earlier run and not retried.
    public var failed: Int
    /// Lines answered by a 2xx that is not the platform's documented success (this run, or an earlier one and not
    /// sent again): perhaps deleted, never counted so; `--retry-unconfirmed` sends them again.
    public var unconfirmed: Int
    /// Lines not done because the run stopped (or was capped) before their final answer.
    public var notSent: Int
    /// Of ``notSent``, lines whose last attempt may have been carried out (a network error or a 5xx, then the run
    /// stopped): the next run sends them again, and a not-found then counts as already gone.
    public var inDoubt: Int
    /// Requests sent in this run.
    public var requests: Int
    /// Of those, throttled (a 429, or Insider One's 403 "Request Limit Exceeded").
    public var throttled: Int
    /// Of those, retried (429, 5xx, network).
    public var retried: Int
    /// Requests per second while sending.
    public var requestsPerSecond: Double
    /// How often a 429 halved the client-wide rate.
    public var rateDecreases: Int
    /// The lowest client-wide rate of the run, requests per second.
    public var lowestRate: Double
    /// Why the run stopped early (breaker, auth, cap, canary), or nil.
    public var stopped: String?
    /// Skip reasons and their counts.
    public var skipReasons: [String: Int]
    /// The failed lines (the first 1,000): line, type, and the platform's answer.
    public var failures: [FailedLine]
    /// The absent-before-apply lines (the first 1,000) and the platform's answer.
    public var absentLines: [FailedLine]
    /// The unconfirmed lines (the first 1,000): their status and the first 200 bytes of the answer.
    public var unconfirmedLines: [FailedLine]
    /// The lines the canary sent (`--canary`), for review; empty without a canary.
    public var canaryLines: [Int] = []
    /// 0 every line done or skipped by design, 1 some lines failed, were unconfirmed or absent before the apply, 2
    /// stopped, 128 + n
    /// stopped by signal n.
    public var exitCode: Int32

    /// One failed line.
    public struct FailedLine: Sendable, Codable {
        /// The plan line.
        public var line: Int
        /// The identifier type.
        public var type: String
        /// The answer.
        public var failure: AttemptFailure
    }

    enum CodingKeys: String, CodingKey {
        case plan, target, destination, outcome, journal, approval, seconds, lines, done, skipped, failed, requests,
            throttled, retried, stopped
        case failures, unconfirmed
        case unconfirmedLines = "unconfirmed_lines"
        case canaryLines = "canary_lines"
        case planSHA256 = "plan_sha256"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case alreadyAbsent = "already_absent"
        case doneEarlier = "done_earlier"
        case absentBeforeApply = "absent_before_apply"
        case rateDecreases = "rate_decreases"
        case lowestRate = "lowest_rate"
        case absentLines = "absent_lines"
        case notSent = "not_sent"
        case inDoubt = "in_doubt"
        case requestsPerSecond = "requests_per_second"
        case skipReasons = "skip_reasons"
        case exitCode = "exit_code"
    }

    /// The report as pretty JSON.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
    }
}
