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
    /// Send lines that failed in an earlier run again.
    public var retryFailed = false
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

    /// The circuit breaker's window.
    static let breakerWindow = 200
    /// Attempts the window needs before it is judged.
    static let breakerMinimum = 50
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
