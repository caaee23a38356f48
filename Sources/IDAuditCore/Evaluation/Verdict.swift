/// Why an identifier is proposed for deletion.
public enum ExcessReason: String, Sendable, Codable {
    /// The value matches a blocked entry (rule 3).
    case blocked
    /// The profile holds more values of the type than its limit allows (rules 4 and 5).
    case limit
    /// A user asked for the identifier to be deleted (`request-plan`).
    case requested
}

/// What the evaluator decided for one identifier.
public enum IdentifierStatus: Sendable, Equatable {
    /// Within the limit.
    case kept
    /// Protected by the rules: never proposed for deletion, counts toward the limit.
    case protected
    /// Matches a blocked entry; the associated value is the entry's summary.
    case blocked(String)
    /// Over the limit.
    case excess

    /// `kept`, `protected`, `blocked` or `excess`, as `explain` prints it.
    public var label: String {
        switch self {
        case .kept: return "kept"
        case .protected: return "protected"
        case .blocked: return "blocked"
        case .excess: return "excess"
        }
    }

    /// The deletion reason, for statuses that propose a deletion.
    public var reason: ExcessReason? {
        switch self {
        case .blocked: return .blocked
        case .excess: return .limit
        case .kept, .protected: return nil
        }
    }
}

/// One identifier with the evaluator's decision and, for deletions, its rank.
public struct IdentifierVerdict: Sendable, Equatable {
    /// The identifier.
    public var identifier: ProfileIdentifier
    /// The decision.
    public var status: IdentifierStatus
    /// 1, 2, ... over the profile's deletions of this type, oldest first; 0 when not deleted.
    public var rank: Int
}

/// The outcome for one identifier type of a profile: the rationale every plan line carries.
public struct TypeOutcome: Sendable, Equatable {
    /// The identifier type.
    public var type: String
    /// The limit that applied, if any.
    public var limit: IdentifierLimit?
    /// Active identifiers of the type that count toward the limit (not blocked).
    public var counted: Int
    /// Values kept (kept or protected), oldest first.
    public var kept: [String]
}

/// A plan line: one identifier proposed for deletion.
public struct PlanLine: Sendable, Equatable {
    /// The canonical segment id of the profile.
    public var segmentID: String
    /// The identifier type.
    public var type: String
    /// The identifier value.
    public var value: String
    /// Why it is deleted.
    public var reason: ExcessReason
    /// 1, 2, ... over the profile's deletions of this type, oldest first.
    public var rank: Int
    /// The newest user_id that stays on the profile: the Delete Profile Identifier API addresses the profile by it.
    public var lookupUserID: String
    /// Whether Segment's API can carry the deletion out (a lookup user_id exists and the type is not group_id).
    public var remediable: Bool
    /// When the identifier was first seen.
    public var firstSeen: Instant
    /// The SEQ of that row.
    public var seq: Int64
    /// The limit of the type, for `limit` lines.
    public var limit: IdentifierLimit?
    /// The blocked entry that matched, for `blocked` lines.
    public var matched: String?

    /// Creates a line.
    public init(
        segmentID: String, type: String, value: String, reason: ExcessReason, rank: Int, lookupUserID: String,
        remediable: Bool, firstSeen: Instant, seq: Int64, limit: IdentifierLimit? = nil, matched: String? = nil
    ) {
        self.segmentID = segmentID
        self.type = type
        self.value = value
        self.reason = reason
        self.rank = rank
        self.lookupUserID = lookupUserID
        self.remediable = remediable
        self.firstSeen = firstSeen
        self.seq = seq
        self.limit = limit
        self.matched = matched
    }

    /// Rule 8: remediable iff a lookup user_id exists and the type is not `group_id`.
    public static func isRemediable(type: String, lookupUserID: String) -> Bool {
        !lookupUserID.isEmpty && !ByteOrder.equal(type, "group_id")
    }
}

/// Everything the evaluator decided for one profile.
public struct ProfileEvaluation: Sendable {
    /// The canonical segment id.
    public var canonicalID: String
    /// Every active identifier with its decision, grouped by type (byte order), oldest first within a type.
    public var verdicts: [IdentifierVerdict]
    /// Per-type rationale, in type order.
    public var types: [TypeOutcome]
    /// Rule 6: the lookup user_id, empty when none.
    public var lookupUserID: String
    /// The plan lines, in plan order (type, then oldest first).
    public var lines: [PlanLine]
}
