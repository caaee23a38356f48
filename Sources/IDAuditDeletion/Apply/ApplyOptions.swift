import Synchronization

/// How `apply` runs: budget, concurrency, retries and the blast-radius limits.
package struct ApplyOptions: Sendable {
    /// Requests per second for the destination (nil: the platform's documented budget).
    package var requestsPerSecond: Double?
    /// Requests in flight at most (nil: enough for the budget when each request takes 4 s, at most 1,024).
    package var concurrency: Int?
    /// Attempts per line before it counts as failed (429, 5xx and network errors are retried).
    package var maxAttempts = 8
    /// Lines sent in this run at most; the run stops (exit 2) when it is reached.
    package var maxDeletes: Int?
    /// Send this many lines first, then stop for review unless ``continueAfterCanary``.
    package var canary: Int?
    /// Go on after a clean canary (`--yes`).
    package var continueAfterCanary = false
    /// Stop when more than this share of the last 200 attempts failed (5xx, network, or a failed line); 429s are
    /// throttling, not errors, and do not count. Judged once 50 attempts are in the window.
    package var maxErrorRate = 0.05
    /// Stop when more than this share of the lines answered so far were not there before the run (once
    /// ``absentMinimum`` lines have answered): the plan does not match the destination.
    package var maxAbsentRate = 0.1
    /// Send lines that failed in an earlier run again.
    package var retryFailed = false
    /// Send lines answered by an unconfirmed 2xx in an earlier run again (a not-found then means it was deleted).
    package var retryUnconfirmed = false
    /// First backoff, in seconds; it doubles per attempt, up to ``backoffCapSeconds``, with jitter.
    package var backoffBaseSeconds = 0.5
    /// Longest backoff, in seconds.
    package var backoffCapSeconds = 30.0
    /// A request's time limit, in seconds.
    package var timeoutSeconds = 30.0
    /// Called about once a second with the run's progress.
    package var progress: (@Sendable (ApplyProgress) -> Void)?
    /// Set from outside the run (a signal handler) to stop it gracefully.
    package var stopRequest: StopRequest?

    /// Default options.
    package init() {}

    /// Checks the options before anything is sent or written: every number within its range (a rate of 1e300 or a
    /// timeout of a million years would trap converting to a clock, not fail).
    package func validate() throws(ApplyOptionsError) {
        if let requestsPerSecond, !(requestsPerSecond >= Self.slowestRate && requestsPerSecond <= Self.rateLimit) {
            throw ApplyOptionsError(
                message: "--max-rps must be within 0.001 and \(Int(Self.rateLimit)) (--max-rpm within 0.06 and "
                    + "\(Int(Self.rateLimit * 60)))")
        }
        if let concurrency, !Self.concurrencyRange.contains(concurrency) {
            throw ApplyOptionsError(message: "--concurrency must be within 1-\(Self.concurrencyRange.upperBound)")
        }
        if !Self.attemptsRange.contains(maxAttempts) {
            throw ApplyOptionsError(message: "--max-attempts must be within 1-\(Self.attemptsRange.upperBound)")
        }
        if let maxDeletes, maxDeletes < 1 { throw ApplyOptionsError(message: "--max-deletes must be at least 1") }
        if let canary, canary < 1 { throw ApplyOptionsError(message: "--canary must be at least 1") }
        if !(0...1).contains(maxErrorRate) {
            throw ApplyOptionsError(message: "--max-error-rate must be within 0-100%")
        }
        if !(0...1).contains(maxAbsentRate) {
            throw ApplyOptionsError(message: "--max-absent-rate must be within 0-100%")
        }
        if !Self.timeoutRange.contains(timeoutSeconds) {
            throw ApplyOptionsError(
                message: "--timeout must be within \(Int(Self.timeoutRange.lowerBound)) and "
                    + "\(Int(Self.timeoutRange.upperBound)) seconds")
        }
        if !(backoffBaseSeconds > 0 && backoffBaseSeconds <= backoffCapSeconds && backoffCapSeconds <= 3600) {
            throw ApplyOptionsError(message: "the backoff must be above 0 and at most an hour")
        }
    }

    /// The highest request rate accepted (no platform's budget comes near it).
    package static let rateLimit = 100_000.0
    /// The lowest: one request in 1,000 seconds (below it, a run's estimates overflow).
    package static let slowestRate = 0.001
    /// Requests in flight: 1 to 1,024.
    package static let concurrencyRange = 1...1024
    /// Attempts per line: 1 to 1,000 (a long 429 storm at a shared budget takes hundreds).
    package static let attemptsRange = 1...1000
    /// A request's time limit: a second to an hour (below a second, every exchange on a real network would fail
    /// after it may have executed).
    package static let timeoutRange = 1.0...3600.0

    /// The circuit breaker's window.
    static let breakerWindow = 200
    /// Attempts the window needs before it is judged.
    static let breakerMinimum = 50
    /// Lines answered before the share of absent-before-apply lines is judged.
    static let absentMinimum = 20
}

/// A request from outside a run (SIGINT, SIGTERM) to stop it: no new request leaves, the requests in flight get
/// their answers (each within the time limit) and are journaled, and the run ends with its report. Safe to call from
/// any thread, any number of times (the first reason stands).
package final class StopRequest: Sendable {
    private let state = Mutex<(reason: String, signal: Int32?)?>(nil)

    /// A request not yet made.
    package init() {}

    /// Asks the run to stop, for `reason`; `signal` makes the run's exit code 128 + signal.
    package func stop(reason: String, signal: Int32? = nil) {
        state.withLock { if $0 == nil { $0 = (reason, signal) } }
    }

    /// Why the run was asked to stop, or nil.
    package var reason: String? { state.withLock { $0?.reason } }

    /// The signal that asked, or nil.
    package var signal: Int32? { state.withLock { $0?.signal } }
}

/// Options that make no sense (a negative cap, a zero rate).
package struct ApplyOptionsError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    package var message: String
    package var description: String { message }
}

/// A run's progress, for a terminal line.
package struct ApplyProgress: Sendable {
    /// Lines deleted (or already absent) in this run.
    package var done: Int
    /// Lines failed in this run.
    package var failed: Int
    /// Lines answered by a 2xx that was not the documented success, in this run.
    package var unconfirmed = 0
    /// Lines skipped in this run.
    package var skipped: Int
    /// Lines still to send.
    package var left: Int
    /// Requests per second over the last few seconds.
    package var rate: Double
    /// Seconds to go at that rate (nil when unknown).
    package var etaSeconds: Double?
}
