/// A string that is equal to, hashed and ordered like its UTF-8 bytes: the key for domain strings (identifier values,
/// segment ids, identifier types) in dictionaries and sets.
///
/// Swift's `String` compares and hashes by Unicode canonical equivalence, so `"seg_\u{E9}"` (NFC) and
/// `"seg_e\u{301}"` (NFD) are one `String` key. The platforms, SQLite's BINARY collation and the plan compare bytes,
/// so two such ids are two profiles and two such types are two types; keying by `ByteString` keeps them apart.
public struct ByteString: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The string.
    public let string: String

    /// Wraps `string`.
    @inlinable
    public init(_ string: String) { self.string = string }

    /// Wraps a literal.
    @inlinable
    public init(stringLiteral value: String) { self.string = value }

    @inlinable
    public static func == (lhs: ByteString, rhs: ByteString) -> Bool { ByteOrder.equal(lhs.string, rhs.string) }

    /// Byte order (see ``ByteOrder``).
    @inlinable
    public static func < (lhs: ByteString, rhs: ByteString) -> Bool { ByteOrder.less(lhs.string, rhs.string) }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        var string = string
        string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(0xFF as UInt8)  // never in UTF-8: ends the bytes, as String's own hashing does
    }

    public var description: String { string }
}
