/// The operation a Profiles Sync mapping row records (`__operation`).
public enum MappingOperation: UInt8, Sendable {
    /// The identifier was added to the profile (also an absent column or an empty value).
    case created = 0
    /// The identifier was deleted through the Delete Profile Identifier API.
    case removed = 1
}

/// One `external_id_mapping_updates` row, reduced to what rule 2 needs.
public struct MappingEvent: Sendable, Equatable {
    /// The row's unique ID.
    public var id: String
    /// SEQ, "a sequential value derived from the timestamp".
    public var seq: Int64
    /// TIMESTAMP, or RECEIVED_AT on backfilled rows whose TIMESTAMP is empty.
    public var time: Instant
    /// The segment id the identifier was seen on (not necessarily canonical).
    public var segmentID: String
    /// CREATED or REMOVED.
    public var operation: MappingOperation

    /// Creates an event.
    public init(id: String, seq: Int64, time: Instant, segmentID: String, operation: MappingOperation) {
        self.id = id
        self.seq = seq
        self.time = time
        self.segmentID = segmentID
        self.operation = operation
    }
}

/// The state of one (type, value) identifier derived from all of its mapping rows (rule 2).
public struct IdentifierState: Sendable, Equatable {
    /// Whether the identifier's highest-SEQ row is CREATED.
    public var active: Bool
    /// The segment id of the highest-SEQ row; the identifier belongs to its canonical profile.
    public var segmentID: String
    /// Time of the first CREATED row after the last REMOVED row (the lowest-SEQ row if never removed).
    public var firstSeen: Instant
    /// SEQ of that row.
    public var seq: Int64
    /// SEQ and ID of the highest row, so later rows can be folded in without re-reading the history.
    public var lastSeq: Int64
    /// ID of the highest row.
    public var lastID: String

    /// Creates a state.
    public init(active: Bool, segmentID: String, firstSeen: Instant, seq: Int64, lastSeq: Int64, lastID: String) {
        self.active = active
        self.segmentID = segmentID
        self.firstSeen = firstSeen
        self.seq = seq
        self.lastSeq = lastSeq
        self.lastID = lastID
    }
}

/// Rule 2 of the scan semantics, as pure functions.
///
/// Rows are ordered by SEQ, ties by ID (byte order). The identifier is active iff its highest row is CREATED.
/// Its `first_seen` is the time of the first CREATED row after the last REMOVED row.
public enum IdentifierHistory {
    /// Whether row (seqA, idA) comes before (seqB, idB).
    @inlinable
    public static func precedes(seq seqA: Int64, id idA: String, seq seqB: Int64, id idB: String) -> Bool {
        seqA != seqB ? seqA < seqB : ByteOrder.less(idA, idB)
    }

    /// Whether `a` supersedes `b`, two rows of one identifier with the same ID (a row delivered again, possibly
    /// with other contents): the greater by (SEQ, REMOVED over CREATED, time, segment id bytes) is the one kept,
    /// whatever order the two arrive in. Rows equal on all of these are the same row.
    public static func supersedes(_ a: MappingEvent, _ b: MappingEvent) -> Bool {
        if a.seq != b.seq { return a.seq > b.seq }
        if a.operation != b.operation { return a.operation == .removed }
        if a.time != b.time { return a.time > b.time }
        return ByteOrder.less(b.segmentID, a.segmentID)
    }

    /// The rows of one identifier with one row per ID: the row that supersedes the others with its ID.
    public static func deduplicated(_ events: [MappingEvent]) -> [MappingEvent] {
        var kept: [ByteString: MappingEvent] = [:]
        for event in events {
            let id = ByteString(event.id)
            if let other = kept[id], !supersedes(event, other) { continue }
            kept[id] = event
        }
        return Array(kept.values)
    }

    /// Derives the state from all rows of one identifier, in any order, one row per ID (see
    /// ``supersedes(_:_:)``); nil for no rows.
    public static func state(of events: [MappingEvent]) -> IdentifierState? {
        let sorted = deduplicated(events).sorted { precedes(seq: $0.seq, id: $0.id, seq: $1.seq, id: $1.id) }
        var state: IdentifierState?
        for event in sorted { state = fold(state, event) }
        return state
    }

    /// Folds one row that comes after every row already folded into `state`.
    @inlinable
    public static func fold(_ state: IdentifierState?, _ event: MappingEvent) -> IdentifierState {
        guard var next = state else {
            return IdentifierState(
                active: event.operation == .created, segmentID: event.segmentID, firstSeen: event.time,
                seq: event.seq, lastSeq: event.seq, lastID: event.id)
        }
        if event.operation == .created, !next.active {
            // The first CREATED row after a REMOVED one starts a new active run.
            next.firstSeen = event.time
            next.seq = event.seq
        }
        next.active = event.operation == .created
        next.segmentID = event.segmentID
        next.lastSeq = event.seq
        next.lastID = event.id
        return next
    }
}
