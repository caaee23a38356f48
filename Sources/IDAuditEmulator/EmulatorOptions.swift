import IDAuditCore

/// How the emulator behaves: its token, its budgets, and the latency and faults it injects.
package struct EmulatorOptions: Sendable {
    /// The address to listen on.
    package var host = "127.0.0.1"
    /// The port (0: any free port; the bound one is reported).
    package var port = 8080
    /// The one token accepted: Segment's Basic user, Insider One's `X-REQUEST-TOKEN`.
    package var token: String
    /// Segment deletions per second per space (documented: 100).
    package var segmentPerSpace = 100.0
    /// Segment deletions per second per profile (documented: 100).
    package var segmentPerProfile = 100.0
    /// Insider One `DELETE /api/user/v1/identity` requests per minute per partner (1,000 per key: domain notes §5).
    package var insiderIdentityPerMinute = 1_000.0
    /// Insider One attribute-delete requests per minute per partner (25,000, shared with Upsert: seed 004).
    package var insiderAttributePerMinute = 25_000.0
    /// Answer Insider One's throttling as 403 `Request Limit Exceeded` (which Insider One also sends) instead of 429.
    package var insiderThrottleAs403 = false
    /// Added to every answer, in milliseconds.
    package var latencyMilliseconds = 0
    /// Share of requests answered with a 500 (0 to 1), drawn from a generator seeded with ``seed``.
    package var failRate = 0.0
    /// Share of requests answered with a 429 whatever the budget (a storm), drawn from the same generator.
    package var throttleRate = 0.0
    /// Share of deletions answered with a 2xx that is not the documented success (the error lists, status fields and
    /// pages a proxy or a confused gateway sends), drawn from the same generator; nothing is deleted for them.
    package var odd2xxRate = 0.0
    /// The fault generator's seed.
    package var seed: UInt64 = 1
    /// Spaces whose deletion feature is not activated (403).
    package var deactivatedSpaces: Set<String> = []
    /// How plan types map to Insider One identifier keys (the Insider side's view of the store).
    package var typeMap = InsiderTypeMap()
    /// Insider One users' attributes, one JSON object per element: `{"identifiers": {...}, "attributes": {...}}`
    /// (the lines of `--insider-users FILE`).
    package var insiderUsers: [String] = []
    /// Write Segment deletions into the served store as REMOVED rows, as Profiles Sync would. Off by default: a
    /// rehearsal must never change a real store (the next scan would hide identifiers Segment still holds, and
    /// `verify` would confirm deletions that never happened). Meant for a copy: tests and benchmarks.
    package var writeToStore = false
    /// How often deletions are written to the store as REMOVED rows, in milliseconds (with ``writeToStore``).
    package var flushMilliseconds = 200

    /// Options with a token and the documented budgets.
    package init(token: String) { self.token = token }
}
