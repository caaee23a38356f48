/// A small deterministic random generator (SplitMix64), so that a failing seed fails the same way every run.
public struct SplitMix: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator for `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random Profiles Sync exports for property tests: a few tens of segments, a few hundred mapping rows, with merges
/// (and unmerges), REMOVED rows, rows delivered twice, rows whose ID comes again with other contents, graph rows
/// whose (SEGMENT_ID, SEQ) comes again with another canonical id, and segment ids and types that differ only in
/// Unicode normalization (NFC and NFD), which are distinct.
public struct RandomExport: Sendable {
    /// `id_graph_updates` rows, as ``ExportFixture/graphHeader`` lays them out.
    public var graph: [String]
    /// `external_id_mapping_updates` rows, as ``ExportFixture/mappingHeader`` lays them out.
    public var mapping: [String]
    /// Every segment id the rows name.
    public var segments: [String]
    /// Every (type, value) identifier the rows name.
    public var identifiers: [(type: String, value: String)]

    /// Identifier types: two of them differ only in normalization (`t_é` NFC and NFD).
    public static let types = ["user_id", "email", "anonymous_id", "phone", "t_\u{E9}", "t_e\u{301}"]

    /// Rules for these exports: every frequency, a blocked value, a protected one, and a limit for only one of the
    /// two `t_é` types.
    public static let rules = """
        default: {limit: 3}
        identifiers:
          user_id: {limit: 1}
          email: {limit: 2, frequency: weekly}
          anonymous_id: {limit: 2, frequency: daily}
          "t_\u{E9}": {limit: 1}
        blocked:
          - value: "v0"
            types: [phone]
        protected:
          - {type: email, value: "v1"}
        """

    /// The export of `seed`: `valueCount` values per type (40 for user_id).
    public init(seed: UInt64, segmentCount: Int = 24, mappingRows: Int = 300, valueCount: Int = 12) {
        var rng = SplitMix(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        func chance(_ percent: Int) -> Bool { pick(100) < percent }
        // Two of the segment ids differ only in normalization.
        segments = (0..<segmentCount - 2).map { "use_\($0)" } + ["use_\u{E9}", "use_e\u{301}"]
        func time(_ seq: Int) -> String {
            // About a day per 10 SEQ, with some noise: windows (daily, weekly) matter.
            let minutes = max(0, seq * 144 + pick(600) - 300)
            let day = 1 + minutes / 1440
            let hour = (minutes % 1440) / 60
            let minute = minutes % 60
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            return "2026-\(day > 30 ? "12" : "11")-\(two(day > 30 ? day - 30 : day)) \(two(hour)):\(two(minute)):00"
        }
        graph = []
        for (i, segment) in segments.enumerated() {
            graph.append("\(segment),\(segment),\(time(1)),1")
            // Merges point only to earlier segments (or back to the segment itself): never a cycle.
            for _ in 0..<(chance(40) ? 1 + pick(2) : 0) {
                let seq = 2 + pick(200)
                let parent = i > 0 && chance(85) ? segments[pick(i)] : segment
                graph.append("\(segment),\(parent),\(time(seq)),\(seq)")
                if chance(20), i > 0 {
                    // The same (SEGMENT_ID, SEQ) again, with another canonical id.
                    graph.append("\(segment),\(segments[pick(i)]),\(time(seq)),\(seq)")
                }
            }
        }
        var rows: [(id: String, segment: String, type: String, value: String, time: String, seq: Int, removed: Bool)] = []
        var keys = Set<[UInt8]>()
        identifiers = []
        for n in 0..<mappingRows {
            if !rows.isEmpty, chance(12) {
                var row = rows[pick(rows.count)]
                if chance(60) {
                    // The same ID with other contents: another SEQ, operation, time or segment.
                    switch pick(4) {
                    case 0: row.seq = 1 + pick(300)
                    case 1: row.removed.toggle()
                    case 2: row.time = time(row.seq)
                    default: row.segment = segments[pick(segments.count)]
                    }
                }
                rows.append(row)  // else delivered again as it was
                continue
            }
            let type = Self.types[pick(Self.types.count)]
            let value = "v\(pick(type == "user_id" ? 40 : valueCount))"
            let seq = 1 + pick(300)
            rows.append(
                (id: "m\(n)", segment: segments[pick(segments.count)], type: type, value: value, time: time(seq),
                 seq: seq, removed: chance(18)))
            if keys.insert(Array((type + "\u{0}" + value).utf8)).inserted { identifiers.append((type, value)) }
        }
        mapping = rows.map { r in
            "\(r.id),\(r.segment),\(r.type),\(r.value),\(r.time),\(r.time),\(r.seq),\(r.removed ? "REMOVED" : "CREATED")"
        }
    }
}

extension Array {
    /// The elements in an order drawn from `rng`.
    public func shuffled(seed: UInt64) -> [Element] {
        var rng = SplitMix(seed: seed)
        return shuffled(using: &rng)
    }

    /// The elements cut into `parts` consecutive slices of random sizes (some possibly empty).
    public func randomBatches(_ parts: Int, rng: inout SplitMix) -> [[Element]] {
        var cuts = (0..<(parts - 1)).map { _ in Int(rng.next() % UInt64(count + 1)) }.sorted()
        cuts.insert(0, at: 0)
        cuts.append(count)
        return (0..<parts).map { Array(self[cuts[$0]..<cuts[$0 + 1]]) }
    }
}
