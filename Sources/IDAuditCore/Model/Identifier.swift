/// One active identifier of a profile, as the evaluator sees it.
///
/// `firstSeen` and `seq` come from the first `CREATED` mapping row after the identifier's last `REMOVED` row
/// (rule 2 of the scan semantics, see ``IdentifierHistory``).
public struct ProfileIdentifier: Hashable, Sendable {
    /// The identifier type, such as `user_id`, `email` or `anonymous_id`.
    public var type: String
    /// The identifier value, compared exactly (case-sensitive, untrimmed).
    public var value: String
    /// When the identifier was first seen on the profile (its current active run).
    public var firstSeen: Instant
    /// The SEQ of the row that set `firstSeen`.
    public var seq: Int64

    /// Creates an identifier.
    public init(type: String, value: String, firstSeen: Instant, seq: Int64) {
        self.type = type
        self.value = value
        self.firstSeen = firstSeen
        self.seq = seq
    }

    /// "Oldest first": ascending (first_seen, seq, value), values compared as UTF-8 bytes.
    public static func oldestFirst(_ a: ProfileIdentifier, _ b: ProfileIdentifier) -> Bool {
        if a.firstSeen != b.firstSeen { return a.firstSeen < b.firstSeen }
        if a.seq != b.seq { return a.seq < b.seq }
        return ByteOrder.less(a.value, b.value)
    }
}

/// A canonical profile and its active identifiers.
public struct Profile: Sendable {
    /// The canonical segment id (the end of the merge chain).
    public var canonicalID: String
    /// The active identifiers, in any order.
    public var identifiers: [ProfileIdentifier]

    /// Creates a profile.
    public init(canonicalID: String, identifiers: [ProfileIdentifier]) {
        self.canonicalID = canonicalID
        self.identifiers = identifiers
    }
}

/// Byte-order (UTF-8, memcmp) comparison, the order SQLite's BINARY collation and `sort` with `LC_ALL=C` use.
///
/// Swift's `String <` compares by Unicode canonical equivalence, which is neither byte order nor what a
/// warehouse does, so every ordering that reaches a plan goes through here.
public enum ByteOrder {
    /// Whether `a` sorts before `b` in byte order.
    @inlinable
    public static func less(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                let n = min(pa.count, pb.count)
                if n > 0, let ba = pa.baseAddress, let bb = pb.baseAddress {
                    let c = memcmpBytes(ba, bb, n)
                    if c != 0 { return c < 0 }
                }
                return pa.count < pb.count
            }
        }
    }

    /// Whether `a` and `b` have the same bytes (String's `==` compares by canonical equivalence instead).
    @inlinable
    public static func equal(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                guard pa.count == pb.count else { return false }
                guard pa.count > 0, let ba = pa.baseAddress, let bb = pb.baseAddress else { return true }
                return memcmpBytes(ba, bb, pa.count) == 0
            }
        }
    }

    @usableFromInline
    static func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Int {
        for i in 0..<n where a[i] != b[i] {
            return a[i] < b[i] ? -1 : 1
        }
        return 0
    }
}
