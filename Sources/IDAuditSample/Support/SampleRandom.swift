/// xoshiro256** seeded through SplitMix64: the only source of randomness of the sample generator.
///
/// Our own generator and our own range reduction (``below(_:)``) rather than `Int.random(in:using:)`, whose
/// algorithm the standard library does not promise to keep: the same seed must give the same bytes on every
/// toolchain. Floating point is limited to `+ - * /` and conversions, which IEEE 754 rounds identically
/// everywhere (no `log`, `exp`, `pow`).
struct SampleRandom: RandomNumberGenerator {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Seeds the four state words from SplitMix64 started at `seed`.
    init(seed: UInt64) {
        var state = seed
        s0 = SampleRandom.splitMix(&state)
        s1 = SampleRandom.splitMix(&state)
        s2 = SampleRandom.splitMix(&state)
        s3 = SampleRandom.splitMix(&state)
    }

    /// A generator for one stream (`index`) of `seed`, unrelated to the streams of neighbouring indexes.
    init(seed: UInt64, stream index: UInt64) {
        self.init(seed: SampleRandom.mix(seed &+ SampleRandom.mix(index &+ 0x632B_E59B_D9B4_E019)))
    }

    /// SplitMix64's finalizer: a bijective 64-bit mix.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    @inline(__always)
    mutating func next() -> UInt64 {
        let result = SampleRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SampleRandom.rotl(s3, 45)
        return result
    }

    /// A number in `0..<n` (`n > 0`), by multiply-high; the bias (below 2^-40 for our ranges) does not matter here.
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// A number in `low...high`.
    @inline(__always)
    mutating func between(_ low: Int, _ high: Int) -> Int { low + below(high - low + 1) }

    /// A number in `[0, 1)` with 53 random bits.
    @inline(__always)
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// True with probability `p`.
    @inline(__always)
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A number in `[low, high)` (or `low` when the range is empty).
    @inline(__always)
    mutating func micros(_ low: Int64, _ high: Int64) -> Int64 {
        high > low ? low + Int64(unit() * Double(high - low)) : low
    }
}

/// Bijections on `bits`-bit integers, to turn a (profile, slot) counter into values that look random and never
/// collide: user ids, email suffixes and phone numbers are unique across the export by construction.
struct Scrambler {
    let bits: Int
    private let mask: UInt64
    private let key: UInt64

    /// A bijection on `0..<2^bits` keyed by `seed` (`bits` in 8...62).
    init(bits: Int, seed: UInt64) {
        self.bits = bits
        mask = (UInt64(1) << UInt64(bits)) - 1
        key = SampleRandom.mix(seed ^ 0x5CA3_B1E5) & mask
    }

    /// The smallest bit width (at least `minimum`) that holds `count` distinct values.
    static func bits(for count: Int, minimum: Int) -> Int {
        var bits = minimum
        while bits < 62, (UInt64(1) << UInt64(bits)) < UInt64(max(count, 1)) { bits += 1 }
        return bits
    }

    /// The image of `value` (taken modulo 2^bits). Each step (xor with a constant, multiply by an odd number,
    /// xor-shift right) is a bijection modulo 2^bits, so their composition is one too.
    func callAsFunction(_ value: UInt64) -> UInt64 {
        let half = UInt64(bits / 2)
        var v = (value ^ key) & mask
        v = (v &* 0x9E37_79B9_7F4A_7C15) & mask
        v ^= v >> half
        v = (v &* 0xC2B2_AE3D_27D4_EB4F) & mask
        v ^= v >> (half + 1)
        v = (v &* 0x1656_67B1_9E37_79F9) & mask
        return v
    }
}
