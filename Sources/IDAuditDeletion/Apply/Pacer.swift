/// The client-side rate limiter: a token bucket per destination and one per profile, kept as a schedule.
///
/// Each request reserves the earliest slot that respects both budgets and sleeps until it; slots are spaced
/// exactly `1 / rate` apart, so requests leave at the budget's pace however many are in flight, and no burst
/// above it ever reaches the server.
public actor Pacer {
    private let interval: Duration
    private let profileInterval: Duration?
    private var next: ContinuousClock.Instant
    private var profileNext: [String: ContinuousClock.Instant] = [:]
    private let clock = ContinuousClock()

    /// A pacer allowing `requestsPerSecond` in all and `perProfile` per profile key (nil: no per-profile budget).
    public init(requestsPerSecond: Double, perProfile: Double?) {
        interval = .nanoseconds(Int64(1e9 / max(requestsPerSecond, 0.001)))
        profileInterval = perProfile.map { .nanoseconds(Int64(1e9 / max($0, 0.001))) }
        next = ContinuousClock().now
    }

    /// Reserves the next slot for a request on `profile`; the caller sleeps until it.
    public func reserve(profile: String) -> ContinuousClock.Instant {
        let now = clock.now
        var slot = max(next, now)
        if let profileInterval {
            if let p = profileNext[profile], p > slot { slot = p }
            profileNext[profile] = slot + profileInterval
            if profileNext.count > 100_000 { profileNext = profileNext.filter { $0.value > now } }
        }
        next = slot + interval
        return slot
    }

    /// Reserves a slot and sleeps until it.
    public func wait(profile: String) async throws {
        let slot = reserve(profile: profile)
        try await Task.sleep(until: slot, clock: ContinuousClock())
    }
}

/// The circuit breaker's window: the last `size` attempts, and how many of them were errors.
struct ErrorWindow {
    private var ring: [Bool]
    private var position = 0
    private(set) var count = 0
    private(set) var errors = 0

    init(size: Int) { ring = Array(repeating: false, count: size) }

    mutating func add(error: Bool) {
        if count == ring.count {
            if ring[position] { errors -= 1 }
        } else {
            count += 1
        }
        ring[position] = error
        if error { errors += 1 }
        position = (position + 1) % ring.count
    }

    var rate: Double { count == 0 ? 0 : Double(errors) / Double(count) }
}

/// Exponential backoff with jitter, honouring the server's `Retry-After`.
struct Backoff {
    var base: Double
    var cap: Double

    /// Seconds to wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.
    func delay(afterAttempt attempt: Int, retryAfter: Double?, random: inout some RandomNumberGenerator) -> Double {
        let exponential = min(cap, base * Double(1 << min(attempt - 1, 20)))
        let jittered = exponential * Double.random(in: 0.5...1.0, using: &random)
        if let retryAfter { return max(retryAfter, 0) + jittered * 0.1 }
        return jittered
    }
}
