import ArgumentParser
import IDAuditDeletion

/// How fast and how far a deleting run goes: the options `apply` and `erase` share.
struct SendingOptions: ParsableArguments {
    @Option(help: "Requests per second (default: the platform's budget, 100 for Segment, 416.7 for Insider One).")
    var maxRps: Double?

    @Option(help: "Attempts per request before its line counts as failed.")
    var maxAttempts = 8

    @Option(help: "Send at most this many lines (erase: requests) in this run, then stop (exit 2).")
    var maxDeletes: Int?

    @Option(help: "Send this many lines (erase: requests) first, then stop for review (unless --yes).")
    var canary: Int?

    @Flag(help: "Go on after a clean canary without stopping.")
    var yes = false

    func validate() throws {
        var options = ApplyOptions()
        apply(to: &options)
        do { try options.validate() } catch { throw ValidationError(error.message) }
    }

    /// Sets these on `options`.
    func apply(to options: inout ApplyOptions) {
        options.requestsPerSecond = maxRps
        options.maxAttempts = maxAttempts
        options.maxDeletes = maxDeletes
        options.canary = canary
        options.continueAfterCanary = yes
    }
}
