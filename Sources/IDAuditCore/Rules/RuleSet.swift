import Foundation

/// How often an identifier limit resets, as Segment's Identity Resolution settings name it.
public enum Frequency: String, Sendable, CaseIterable, Codable {
    case ever, daily, weekly, monthly, annually

    /// The sliding window in microseconds; nil for `ever`.
    ///
    /// Daily 86,400 s, weekly 7 days, monthly 30 days, annually 365 days. Segment does not document the window
    /// semantics, so these are idaudit's stated assumption, printed in every report.
    public var window: Int64? {
        let day: Int64 = 86_400 * 1_000_000
        switch self {
        case .ever: return nil
        case .daily: return day
        case .weekly: return 7 * day
        case .monthly: return 30 * day
        case .annually: return 365 * day
        }
    }
}

/// A per-profile limit on the number of values of one identifier type.
public struct IdentifierLimit: Sendable, Equatable {
    /// The maximum number of values (within the window, for windowed frequencies).
    public var limit: Int
    /// The window the limit applies to.
    public var frequency: Frequency

    /// Creates a limit.
    public init(limit: Int, frequency: Frequency = .ever) {
        self.limit = limit
        self.frequency = frequency
    }

    /// `5 weekly`, `1 ever`.
    public var summary: String { "\(limit) \(frequency.rawValue)" }
}

/// A compiled regular expression (ICU syntax), safe to share between threads.
///
/// `NSRegularExpression` is immutable and documented as thread safe, hence `@unchecked Sendable`.
public final class CompiledPattern: @unchecked Sendable {
    /// The pattern as written in the rules file.
    public let source: String
    private let regex: NSRegularExpression
    private let byteClass: ByteClassPattern?

    /// Compiles `source`; throws Foundation's error when it does not compile.
    public init(_ source: String) throws {
        self.source = source
        self.regex = try NSRegularExpression(pattern: source, options: [])
        self.byteClass = ByteClassPattern(source)
    }

    /// Whether the pattern matches anywhere in `text` (an unanchored search).
    public func matches(_ text: String) -> Bool {
        if let byteClass { return byteClass.matches(text) }
        return matchesWithICU(text)
    }

    /// The ICU engine's answer, bypassing the fast path (for tests that compare the two).
    public func matchesWithICU(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return regex.firstMatch(in: text, options: [], range: range) != nil
    }
}

/// A fast path for the most common blocked-value patterns, such as Segment's `^[0-]*$`: a whole-value match of one
/// bracket class of literal ASCII characters and ranges, repeated with `*` or `+`.
///
/// ICU goes through an NSString conversion per call (about half a microsecond, several seconds over a
/// million-profile scan); this checks bytes. Anything else (escapes, negation, other constructs) is left to ICU,
/// and the tests compare both engines on the shapes accepted here.
struct ByteClassPattern: Sendable {
    private var allowed = [Bool](repeating: false, count: 128)
    private let allowsEmpty: Bool
    /// Characters with a meaning of their own inside ICU sets (or close to one): not handled here.
    static let special = Set("[]\\&$^{}:".unicodeScalars)

    init?(_ pattern: String) {
        let chars = Array(pattern.unicodeScalars)
        guard chars.count >= 5, chars.first == "^", chars.last == "$", chars[1] == "[" else { return nil }
        let quantifier = chars[chars.count - 2]
        guard quantifier == "*" || quantifier == "+", chars[chars.count - 3] == "]" else { return nil }
        allowsEmpty = quantifier == "*"
        let body = chars[2..<(chars.count - 3)]
        guard !body.isEmpty, body.first != "^" else { return nil }
        var items = Array(body)
        var i = 0
        while i < items.count {
            let c = items[i]
            // Only plain printable ASCII; "[", "]", "\" and "&" mean more than themselves in ICU sets.
            guard c.isASCII, c.value >= 0x20, c.value < 0x7F, !ByteClassPattern.special.contains(c) else { return nil }
            if i + 2 < items.count, items[i + 1] == "-" {
                let end = items[i + 2]
                guard end.isASCII, end.value >= c.value, end.value < 0x7F, !ByteClassPattern.special.contains(end) else {
                    return nil
                }
                for v in c.value...end.value { allowed[Int(v)] = true }
                i += 3
            } else {
                allowed[Int(c.value)] = true
                i += 1
            }
        }
        items.removeAll()
    }

    func matches(_ text: String) -> Bool {
        // ICU's `$` also matches before a line terminator that ends the input (\n, VT, FF, \r, \r\n, U+0085,
        // U+2028, U+2029); none of those can be in the class, so that is the only place a match can end.
        var body = Substring(text)
        if body.hasSuffix("\r\n") {
            body = body.dropLast()  // "\r\n" is one Character
        } else if let last = body.unicodeScalars.last,
            "\n\u{0B}\u{0C}\r\u{85}\u{2028}\u{2029}".unicodeScalars.contains(last)
        {
            body = Substring(body.unicodeScalars.dropLast())
        }
        if body.utf8.isEmpty { return allowsEmpty }
        for byte in body.utf8 where byte >= 128 || !allowed[Int(byte)] { return false }
        return true
    }
}

/// A value that is never acceptable as an identifier.
public struct BlockedEntry: Sendable {
    /// How the entry matches a value.
    public enum Matcher: Sendable {
        /// Exact, case-sensitive match.
        case value(String)
        /// An unanchored regular-expression search.
        case pattern(CompiledPattern)
    }

    /// How the entry matches.
    public var matcher: Matcher
    /// The types the entry applies to, compared as bytes; nil for every type.
    public var types: Set<ByteString>?

    /// Creates an entry.
    public init(matcher: Matcher, types: Set<ByteString>? = nil) {
        self.matcher = matcher
        self.types = types
    }

    /// Whether the entry blocks `value` of type `type`.
    public func blocks(type: String, value: String) -> Bool {
        if let types, !types.contains(ByteString(type)) { return false }
        switch matcher {
        case .value(let blocked): return blocked.utf8.elementsEqual(value.utf8)
        case .pattern(let pattern): return pattern.matches(value)
        }
    }

    /// `value "null"` or `pattern "^[0-]*$"`, for plans and reports.
    public var summary: String {
        switch matcher {
        case .value(let v): return "value \"\(v)\""
        case .pattern(let p): return "pattern \"\(p.source)\""
        }
    }
}

/// An identifier that is never proposed for deletion.
public struct ProtectedIdentifier: Hashable, Sendable {
    /// The identifier type.
    public var type: String
    /// The identifier value.
    public var value: String

    /// Creates a protected identifier.
    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }

    // Equality is byte equality: Swift's String == would treat canonically equivalent values as one.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.type.utf8.elementsEqual(rhs.type.utf8) && lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in type.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)
        for byte in value.utf8 { hasher.combine(byte) }
    }
}

/// A rules file: limits per identifier type, blocked values and protected values.
public struct RuleSet: Sendable {
    /// The limit for types without an entry of their own; nil means such types have no limit.
    public var defaultLimit: IdentifierLimit?
    /// Limits per identifier type, compared as bytes (two types that differ only in Unicode normalization are two
    /// types).
    public var limits: [ByteString: IdentifierLimit]
    /// Blocked values, in file order.
    public var blocked: [BlockedEntry]
    /// Protected identifiers.
    public var protected: Set<ProtectedIdentifier>
    /// The SHA-256 of the rules file's bytes (hex), recorded in every plan.
    public var sha256: String
    /// Segment's system limits the scan reports profiles against (`caps:`; Segment's numbers by default).
    public var caps = SystemCaps()

    /// Creates a rule set.
    public init(
        defaultLimit: IdentifierLimit? = nil, limits: [ByteString: IdentifierLimit] = [:], blocked: [BlockedEntry] = [],
        protected: Set<ProtectedIdentifier> = [], sha256: String = ""
    ) {
        self.defaultLimit = defaultLimit
        self.limits = limits
        self.blocked = blocked
        self.protected = protected
        self.sha256 = sha256
    }

    /// The limit that applies to `type`, if any.
    public func limit(for type: String) -> IdentifierLimit? {
        limits[ByteString(type)] ?? defaultLimit
    }

    /// The first blocked entry that blocks `value` of `type`, if any.
    public func blockingEntry(type: String, value: String) -> BlockedEntry? {
        blocked.first { $0.blocks(type: type, value: value) }
    }

    /// Whether (`type`, `value`) is protected.
    public func isProtected(type: String, value: String) -> Bool {
        !protected.isEmpty && protected.contains(ProtectedIdentifier(type: type, value: value))
    }
}

/// Segment's system limits on a profile: once a profile reaches one, Segment adds no more merges or identifier
/// mappings to it (event resolution goes on). Scans count the profiles at or near them, whatever the rules say.
public struct SystemCaps: Sendable, Equatable {
    /// Merges a profile may have (Segment: 100).
    public var merges = 100
    /// Identifier mappings a profile may hold (Segment: 1,000); idaudit counts its active identifiers.
    public var mappings = 1000
    /// "Near" starts at this share of a cap.
    public static let nearShare = 0.9

    /// Segment's numbers.
    public init(merges: Int = 100, mappings: Int = 1000) {
        self.merges = merges
        self.mappings = mappings
    }

    /// The count from which a profile is near `cap`.
    public static func nearThreshold(_ cap: Int) -> Int { Int((Double(cap) * nearShare).rounded(.up)) }
}

/// The profiles at or near a system cap, as a scan found them.
public struct CapCount: Sendable, Equatable {
    /// `merges` or `mappings`.
    public var name: String
    /// The cap.
    public var cap: Int
    /// Profiles at or over it.
    public var atOrOver: Int
    /// Profiles near it (from 90% of it), below it.
    public var near: Int
    /// The profiles with the highest counts at or near the cap (at most 20), highest first, ties by id bytes.
    public var top: [(profile: String, count: Int)]

    /// Creates a count.
    public init(name: String, cap: Int, atOrOver: Int, near: Int, top: [(profile: String, count: Int)]) {
        self.name = name
        self.cap = cap
        self.atOrOver = atOrOver
        self.near = near
        self.top = top
    }

    /// Counts the profiles at or near `cap` from each profile's count (any order; ones below "near" are skipped).
    public static func counting(
        _ name: String, cap: Int, counts: some Sequence<(profile: String, count: Int)>, top: Int = 20
    ) -> CapCount {
        let near = SystemCaps.nearThreshold(cap)
        let listed = counts.filter { $0.count >= near }.sorted {
            $0.count != $1.count ? $0.count > $1.count : ByteOrder.less($0.profile, $1.profile)
        }
        let at = listed.count { $0.count >= cap }
        return CapCount(name: name, cap: cap, atOrOver: at, near: listed.count - at, top: Array(listed.prefix(top)))
    }

    public static func == (a: CapCount, b: CapCount) -> Bool {
        a.name == b.name && a.cap == b.cap && a.atOrOver == b.atOrOver && a.near == b.near
            && a.top.map(\.profile) == b.top.map(\.profile) && a.top.map(\.count) == b.top.map(\.count)
    }
}
