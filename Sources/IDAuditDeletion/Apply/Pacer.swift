/// The client-side rate limiter: a token bucket per destination and one per profile, kept as a schedule, with a
/// client-wide back-off on 429.
///
/// Each request reserves the earliest slot that respects both budgets and sleeps until it; slots are spaced
/// exactly `1 / rate` apart, so requests leave at the pace of the rate however many are in flight, and no burst
/// above it ever reaches the server. Slots are handed out at most ``horizon`` ahead (a request further back waits
/// without one), so a change of rate reaches every request after that horizon.
///
/// The rate starts at the budget. A 429 means the server's budget is smaller than ours (shared with another client,
/// lowered for this account): it cuts the rate for the whole run to 70% (at most once every 2 seconds, down to 1% of
/// the budget), and the rate climbs back by a tenth of the budget per second of answers, up to the budget
/// (additive increase, multiplicative decrease, as TCP does).
package actor Pacer {
    private let budget: Double
    private let floor: Double
    private var rate: Double
    private var interval: Duration
    private let profileInterval: Duration?
    private var next: ContinuousClock.Instant
    private var profileNext: [String: ContinuousClock.Instant] = [:]
    private var lastDecrease: ContinuousClock.Instant?
    private var lastIncrease: ContinuousClock.Instant
    private let clock = ContinuousClock()
    /// How far ahead a slot may be reserved.
    static let horizon = Duration.seconds(1)
    /// How often the rate was cut.
    package private(set) var decreases = 0
    /// The lowest rate the run went down to.
    package private(set) var lowestRate: Double

    /// A pacer allowing `requestsPerSecond` in all and `perProfile` per profile key (nil: no per-profile budget).
    package init(requestsPerSecond: Double, perProfile: Double?) {
        budget = max(requestsPerSecond, 0.001)
        floor = max(budget / 100, min(budget, 0.5))
        rate = budget
        lowestRate = budget
        interval = Self.interval(budget)
        profileInterval = perProfile.map { Self.interval($0) }
        next = ContinuousClock().now
        lastIncrease = next
    }

    private static func interval(_ rate: Double) -> Duration { .nanoseconds(Int64(1e9 / max(rate, 0.001))) }

    /// The rate requests leave at now.
    package var currentRate: Double { rate }

    /// Reserves the next slot for a request on `profile`; the caller sleeps until it.
    func reserve(profile: String) -> ContinuousClock.Instant {
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

    /// Waits for a slot (reserving it at most ``horizon`` ahead) and sleeps until it.
    package func wait(profile: String) async throws {
        while next > clock.now + Self.horizon {
            try await Task.sleep(until: next - Self.horizon, clock: ContinuousClock())
        }
        let slot = reserve(profile: profile)
        try await Task.sleep(until: slot, clock: ContinuousClock())
    }

    /// A 429 came back: cut the rate to 70% (at most once every 2 seconds, so one burst of 429s counts once).
    package func throttled() {
        let now = clock.now
        if let lastDecrease, now - lastDecrease < .seconds(2) { return }
        lastDecrease = now
        lastIncrease = now
        setRate(max(floor, rate * 0.7))
        decreases += 1
        lowestRate = min(lowestRate, rate)
    }

    /// An answer that is not a 429: add back a tenth of the budget per second since the last change.
    package func answered() {
        let now = clock.now
        defer { lastIncrease = now }
        guard rate < budget else { return }
        let elapsed = now - lastIncrease
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        setRate(min(budget, rate + 0.1 * budget * seconds))
    }

    private func setRate(_ new: Double) {
        rate = new
        interval = Self.interval(new)
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
    /// The longest wait of a line after a 429 without `Retry-After`: the client-wide rate (``Pacer``) already slows
    /// the run, so a line need not also sit out the full cap (in a 50% storm that left a tail of minutes).
    static let throttledCap = 5.0

    /// Seconds to wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed (`throttled`: with a
    /// 429).
    func delay(
        afterAttempt attempt: Int, retryAfter: Double?, throttled: Bool = false,
        random: inout some RandomNumberGenerator
    ) -> Double {
        let ceiling = throttled ? min(cap, Self.throttledCap) : cap
        let exponential = min(ceiling, base * Double(1 << min(attempt - 1, 20)))
        let jittered = exponential * Double.random(in: 0.5...1.0, using: &random)
        if let retryAfter { return max(retryAfter, 0) + jittered * 0.1 }
        return jittered
    }
}
