import Foundation

/// What one `apply` run did: `apply-report.json` beside the plan, and the summary on the terminal.
package struct ApplyReport: Sendable, Codable {
    /// The plan's path.
    package var plan: String
    /// The plan's sha256.
    package var planSHA256: String
    /// `segment` or `insider`.
    package var target: String
    /// The destination, without secrets.
    package var destination: String
    /// `finished`, or `stopped` (see ``stopped``); a report of a run still going (or killed) says `running`.
    package var outcome: String
    /// The journal that records every attempt (what `verify` and the next run read).
    package var journal: String
    /// What the approval's signature says: `signed by ...`, or `unsigned (...)` (set by the caller that checked it).
    package var approval: String?
    /// When the run started (UTC).
    package var startedAt: String
    /// When it ended.
    package var finishedAt: String
    /// Wall-clock seconds.
    package var seconds: Double
    /// Lines in the plan.
    package var lines: Int
    /// Lines deleted in this run (including already absent).
    package var done: Int
    /// Of ``done``, those the platform said were already gone.
    package var alreadyAbsent: Int
    /// Lines deleted in earlier runs (not sent again).
    package var doneEarlier: Int
    /// Lines the platform said were not there although no attempt of ours can have removed them (this run or
    /// earlier ones): nothing was deleted. Re-scan: the plan is stale or meant for another destination.
    package var absentBeforeApply: Int
    /// Lines not sent, by reason.
    package var skipped: Int
    /// Lines that failed in this run, or in an earlier run and not retried.
    package var failed: Int
    /// Of ``failed``, lines an attempt of ours (in this run or an earlier one) sent without an answer, or answered
    /// by a 5xx or an unconfirmed 2xx: perhaps carried out. `--retry-failed` sends them again, and a not-found then counts as gone.
    package var failedInDoubt: Int
    /// Lines answered by a 2xx that is not the platform's documented success (this run, or an earlier one and not
    /// sent again): perhaps deleted, never counted so; `--retry-unconfirmed` sends them again.
    package var unconfirmed: Int
    /// Lines not done because the run stopped (or was capped) before their final answer.
    package var notSent: Int
    /// Of ``notSent``, lines whose last attempt may have been carried out (a network error or a 5xx, then the run
    /// stopped): the next run sends them again, and a not-found then counts as already gone.
    package var inDoubt: Int
    /// Requests sent in this run.
    package var requests: Int
    /// Of those, throttled (a 429, or Insider One's 403 "Request Limit Exceeded").
    package var throttled: Int
    /// Of those, retried (429, 5xx, network).
    package var retried: Int
    /// Requests per second while sending.
    package var requestsPerSecond: Double
    /// How often a 429 halved the client-wide rate.
    package var rateDecreases: Int
    /// The lowest client-wide rate of the run, requests per second.
    package var lowestRate: Double
    /// Why the run stopped early (breaker, auth, cap, canary), or nil.
    package var stopped: String?
    /// Skip reasons and their counts.
    package var skipReasons: [String: Int]
    /// The failed lines (the first 1,000): line, type, and the platform's answer.
    package var failures: [FailedLine]
    /// The absent-before-apply lines (the first 1,000) and the platform's answer.
    package var absentLines: [FailedLine]
    /// The unconfirmed lines (the first 1,000): their status and the first 200 bytes of the answer.
    package var unconfirmedLines: [FailedLine]
    /// The lines the canary sent (`--canary`), for review; empty without a canary.
    package var canaryLines: [Int] = []
    /// 0 every line done or skipped by design, 1 some lines failed, were unconfirmed or absent before the apply, 2
    /// stopped, 128 + n
    /// stopped by signal n.
    package var exitCode: Int32

    /// One failed line.
    package struct FailedLine: Sendable, Codable {
        /// The plan line.
        package var line: Int
        /// The identifier type.
        package var type: String
        /// The answer.
        package var failure: AttemptFailure
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
        case failedInDoubt = "failed_in_doubt"
        case requestsPerSecond = "requests_per_second"
        case skipReasons = "skip_reasons"
        case exitCode = "exit_code"
    }

    /// The report as pretty JSON.
    package var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
    }
}
