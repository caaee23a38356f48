/// One recorded scan: when, with which rules, what it found, and how its excess compares with the previous scan
/// under the same rules.
public struct ScanRun: Sendable, Equatable {
    /// The run's number (1, 2, ...).
    public var id: Int64
    /// When the scan ran.
    public var at: Instant
    /// The rules' SHA-256.
    public var rulesSHA256: String
    /// Profiles scanned.
    public var profiles: Int
    /// Excess identifiers.
    public var excess: Int
    /// Excess identifiers the previous run with the same rules did not have.
    public var new: Int
    /// Excess identifiers the previous run with the same rules had too.
    public var persisting: Int
    /// Identifiers in excess in the previous run with the same rules and not now.
    public var resolved: Int
    /// Excess identifiers that an earlier `apply` deleted, active again (event replays do this). Counted here
    /// instead of in ``new`` or ``persisting``.
    public var reintroduced: Int = 0
    /// The run compared with, if any.
    public var previousRunID: Int64?
    /// The new excess identifiers (type, value), in byte order; empty for runs read back by ``ProfileStore/runs()``.
    public var newIdentifiers: [ExcessIdentifier] = []
    /// The resolved ones, likewise.
    public var resolvedIdentifiers: [ExcessIdentifier] = []
    /// The reintroduced ones, likewise.
    public var reintroducedIdentifiers: [ExcessIdentifier] = []

    /// Creates a run record.
    public init(
        id: Int64, at: Instant, rulesSHA256: String, profiles: Int, excess: Int, new: Int, persisting: Int,
        resolved: Int, reintroduced: Int = 0, previousRunID: Int64? = nil, newIdentifiers: [ExcessIdentifier] = [],
        resolvedIdentifiers: [ExcessIdentifier] = [], reintroducedIdentifiers: [ExcessIdentifier] = []
    ) {
        self.id = id
        self.at = at
        self.rulesSHA256 = rulesSHA256
        self.profiles = profiles
        self.excess = excess
        self.new = new
        self.persisting = persisting
        self.resolved = resolved
        self.reintroduced = reintroduced
        self.previousRunID = previousRunID
        self.newIdentifiers = newIdentifiers
        self.resolvedIdentifiers = resolvedIdentifiers
        self.reintroducedIdentifiers = reintroducedIdentifiers
    }
}

/// An identifier in a run's excess.
public struct ExcessIdentifier: Sendable, Equatable {
    /// The identifier type.
    public var type: String
    /// The value.
    public var value: String

    /// Creates an identifier.
    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }
}

/// Two runs' excess identifiers compared in one ordered pass over both, each read in (type, value) byte order.
public struct RunComparison: Sendable {
    /// Identifiers in both.
    public var persisting = 0
    /// Identifiers in the current run only, in order.
    public var new: [ExcessIdentifier] = []
    /// Identifiers in the previous run only, in order.
    public var resolved: [ExcessIdentifier] = []

    /// An empty comparison.
    public init() {}

    /// Compares two ordered streams of identifiers.
    public static func compare(
        current nextCurrent: () throws -> ExcessIdentifier?, previous nextPrevious: () throws -> ExcessIdentifier?
    ) rethrows -> RunComparison {
        func less(_ x: ExcessIdentifier, _ y: ExcessIdentifier) -> Bool {
            ByteOrder.equal(x.type, y.type) ? ByteOrder.less(x.value, y.value) : ByteOrder.less(x.type, y.type)
        }
        var result = RunComparison()
        var x = try nextCurrent()
        var y = try nextPrevious()
        while x != nil || y != nil {
            if let cx = x, let cy = y, ByteOrder.equal(cx.type, cy.type), ByteOrder.equal(cx.value, cy.value) {
                result.persisting += 1
                x = try nextCurrent()
                y = try nextPrevious()
            } else if let cx = x, y == nil || less(cx, y!) {
                result.new.append(cx)
                x = try nextCurrent()
            } else if let cy = y {
                result.resolved.append(cy)
                y = try nextPrevious()
            }
        }
        return result
    }
}
