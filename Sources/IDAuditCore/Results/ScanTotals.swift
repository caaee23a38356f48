/// The totals of a scan, whatever its source: what `summary.json`, the reports and the CI gate read.
public struct ScanTotals: Sendable, Equatable {
    /// Profiles holding at least one active identifier.
    public var profiles = 0
    /// Active identifiers.
    public var identifiers = 0
    /// Profiles with at least one identifier in excess.
    public var profilesInViolation = 0
    /// Excess identifiers per type and reason.
    public var excess: [ExcessCount] = []

    /// Creates totals.
    public init(profiles: Int = 0, identifiers: Int = 0, profilesInViolation: Int = 0, excess: [ExcessCount] = []) {
        self.profiles = profiles
        self.identifiers = identifiers
        self.profilesInViolation = profilesInViolation
        self.excess = excess
    }
}

/// Counts excess identifiers by type and reason as lines go by, and lists them in type (byte) then reason order.
public struct ExcessTally: Sendable {
    private var counts: [ByteString: [ExcessReason: (count: Int, remediable: Int)]] = [:]

    /// An empty tally.
    public init() {}

    /// Counts one excess identifier.
    public mutating func add(type: String, reason: ExcessReason, remediable: Bool) {
        let type = ByteString(type)
        var c = counts[type, default: [:]][reason] ?? (0, 0)
        c.count += 1
        if remediable { c.remediable += 1 }
        counts[type, default: [:]][reason] = c
    }

    /// The counts, by type then reason.
    public var excess: [ExcessCount] {
        var out: [ExcessCount] = []
        for type in counts.keys.sorted() {
            for (reason, c) in counts[type]!.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                out.append(ExcessCount(type: type.string, reason: reason, count: c.count, remediable: c.remediable))
            }
        }
        return out
    }
}

/// Excess identifiers of one type and reason.
public struct ExcessCount: Sendable, Equatable {
    /// The identifier type.
    public var type: String
    /// The reason.
    public var reason: ExcessReason
    /// Identifiers in excess.
    public var count: Int
    /// Of those, the ones Segment's API can delete.
    public var remediable: Int

    /// Creates a count.
    public init(type: String, reason: ExcessReason, count: Int, remediable: Int) {
        self.type = type
        self.reason = reason
        self.count = count
        self.remediable = remediable
    }
}

