/// One of N disjoint slices of the profiles: `--shard i/N` takes the canonical ids whose stable hash falls in slice i.
///
/// The hash is the first 4 bytes of the id's SHA-256 (UTF-8), big-endian, modulo N: computed in Swift for the
/// SQLite store and in SQL for a warehouse (PostgreSQL: `sha256(convert_to(id, 'UTF8'))`), so both paths cut the
/// same slices and N shard plans merge into the unsharded plan.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 1-based slice number.
    public var index: Int
    /// How many slices.
    public var count: Int

    /// A shard; nil unless 1 <= index <= count.
    public init?(index: Int, count: Int) {
        guard count >= 1, index >= 1, index <= count else { return nil }
        self.index = index
        self.count = count
    }

    /// Parses `i/N`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The 32-bit stable hash of a canonical id.
    public static func hash(_ canonicalID: String) -> UInt32 {
        UInt32(SHA256Digest.hex(of: Array(canonicalID.utf8)).prefix(8), radix: 16) ?? 0
    }

    /// Whether a canonical id belongs to this shard.
    public func contains(_ canonicalID: String) -> Bool {
        Int(Self.hash(canonicalID) % UInt32(count)) == index - 1
    }
}
