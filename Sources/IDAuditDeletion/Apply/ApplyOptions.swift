/// How `apply` runs: budget, concurrency, retries and the blast-radius limits.
public struct ApplyOptions: Sendable {
    /// Requests per second for the destination (nil: the platform's documented budget).
    public var requestsPerSecond: Double?
    /// Requests in flight at most (nil: enough for the budget when each request takes 4 s, at most 1,024).
    public var concurrency: Int?
    /// Attempts per line before it counts as failed (429, 5xx and network errors are retried).
    public var maxAttempts = 8
    /// Lines sent in this run at most; the run stops (exit 2) when it is reached.
    public var maxDeletes: Int?
    /// Send this many lines first, then stop for review unless ``continueAfterCanary``.
    public var canary: Int?
    /// Go on after a clean canary (`--yes`).
    public var continueAfterCanary = false
    /// Stop when more than this share of the last 200 attempts failed (5xx, network, or a failed line); 429s are
    /// throttling, not errors, and do not count. Judged once 50 attempts are in the window.
    public var maxErrorRate = 0.05
    /// Stop when more than this share of the lines answered so far were not there before the run (once
    /// ``absentMinimum`` lines have answered): the plan does not match the destination.
    public var maxAbsentRate = 0.1
    /// Send lines that failed in an earlier run again.
    public var retryFailed = false
    /// Send lines answered by an unconfirmed 2xx in an earlier run again (a not-found then means it was deleted).
    public var retryUnconfirmed = false
    /// First backoff, in seconds; it doubles per attempt, up to ``backoffCapSeconds``, with jitter.
    public var backoffBaseSeconds = 0.5
    /// Longest backoff, in seconds.
    public var backoffCapSeconds = 30.0
    /// A request's time limit, in seconds.
    public var timeoutSeconds = 30.0
    /// Called about once a second with the run's progress.
    public var progress: (@Sendable (ApplyProgress) -> Void)?

    /// Default options.
    public init() {}

    /// Checks the options before anything is sent or written.
    public func validate() throws(ApplyOptionsError) {
        if let requestsPerSecond, !(requestsPerSecond > 0 && requestsPerSecond.isFinite) {
            throw ApplyOptionsError(message: "the request rate must be a number above 0")
        }
        if let concurrency, concurrency < 1 { throw ApplyOptionsError(message: "concurrency must be at least 1") }
        if maxAttempts < 1 { throw ApplyOptionsError(message: "--max-attempts must be at least 1") }
        if let maxDeletes, maxDeletes < 1 { throw ApplyOptionsError(message: "--max-deletes must be at least 1") }
        if let canary, canary < 1 { throw ApplyOptionsError(message: "--canary must be at least 1") }
        if !(0...1).contains(maxErrorRate) { throw ApplyOptionsError(message: "--max-error-rate must be within 0-100%") }
        if !(0...1).contains(maxAbsentRate) { throw ApplyOptionsError(message: "--max-absent-rate must be within 0-100%") }
        if !(timeoutSeconds > 0 && timeoutSeconds.isFinite) {
            throw ApplyOptionsError(message: "--timeout must be a number of seconds above 0")
        }
    }

    /// The circuit breaker's window.
    static let breakerWindow = 200
    /// Attempts the window needs before it is judged.
    static let breakerMinimum = 50
    /// Lines answered before the share of absent-before-apply lines is judged.
    static let absentMinimum = 20
}

/// Options that make no sense (a negative cap, a zero rate).
public struct ApplyOptionsError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}

/// A run's progress, for a terminal line.
public struct ApplyProgress: Sendable {
    /// Lines deleted (or already absent) in this run.
    public var done: Int
    /// Lines failed in this run.
    public var failed: Int
    /// Lines skipped in this run.
    public var skipped: Int
    /// Lines still to send.
    public var left: Int
    /// Requests per second over the last few seconds.
    public var rate: Double
    /// Seconds to go at that rate (nil when unknown).
    public var etaSeconds: Double?
}
