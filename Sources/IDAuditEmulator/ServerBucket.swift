/// A server-side token bucket: `capacity` tokens, refilled at `rate` per second; a request without a token is
/// answered 429.
struct ServerBucket {
    var tokens: Double
    var last: ContinuousClock.Instant
    let rate: Double
    let capacity: Double

    init(rate: Double, capacity: Double, now: ContinuousClock.Instant) {
        self.rate = rate
        self.capacity = capacity
        tokens = capacity
        last = now
    }

    mutating func take(now: ContinuousClock.Instant) -> Bool {
        let d = now - last
        let elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        tokens = min(capacity, tokens + elapsed * rate)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

/// Buckets by key (space, profile, partner), forgetting idle ones.
struct BucketSet {
    private var buckets: [String: ServerBucket] = [:]
    let rate: Double
    let capacity: Double

    init(rate: Double, capacity: Double) {
        self.rate = rate
        self.capacity = capacity
    }

    mutating func take(_ key: String, now: ContinuousClock.Instant) -> Bool {
        if buckets.count > 100_000 { buckets = buckets.filter { now - $0.value.last < .seconds(5) } }
        var bucket = buckets[key] ?? ServerBucket(rate: rate, capacity: capacity, now: now)
        let ok = bucket.take(now: now)
        buckets[key] = bucket
        return ok
    }
}

/// SplitMix64: the fault generator, reproducible from a seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
