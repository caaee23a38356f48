import ArgumentParser
import IDAuditDeletion

/// How fast and how far a deleting run goes: the options `apply` and `erase` share.
struct SendingOptions: ParsableArguments {
    @Option(
        help: """
            Requests per second (default: the endpoint's documented budget: Segment 100/s per space; Insider One \
            1,000/min for identity delete, 25,000/min for attribute delete, shared with Upsert).
            """)
    var maxRps: Double?

    @Option(help: "Requests per minute instead of per second (Insider One states its budgets per minute).")
    var maxRpm: Double?

    @Option(help: "Attempts per request before its line counts as failed.")
    var maxAttempts = 8

    @Option(help: "Send at most this many lines (erase: requests) in this run, then stop (exit 2).")
    var maxDeletes: Int?

    @Option(help: "Send this many lines (erase: requests) first, then stop for review (unless --yes).")
    var canary: Int?

    @Flag(help: "Go on after a clean canary without stopping.")
    var yes = false

    func validate() throws {
        if maxRps != nil, maxRpm != nil { throw ValidationError("--max-rps and --max-rpm: give one of them") }
        var options = ApplyOptions()
        apply(to: &options)
        do { try options.validate() } catch { throw ValidationError(error.message) }
    }

    /// The rate asked for, per second, if any.
    var requestsPerSecond: Double? { maxRps ?? maxRpm.map { $0 / 60 } }

    /// Sets these on `options`.
    func apply(to options: inout ApplyOptions) {
        options.requestsPerSecond = requestsPerSecond
        options.maxAttempts = maxAttempts
        options.maxDeletes = maxDeletes
        options.canary = canary
        options.continueAfterCanary = yes
    }
}
