import IDAuditCore

/// The mapping rows of one (type, value) identifier during an ingest: rows already stored (from its history blob)
/// and new rows (from the sorted input), kept as offsets into one reusable byte buffer so that millions of
/// identifiers cost no allocations.
///
/// ``settle()`` applies rule 2: it keeps one row per ID (``IdentifierHistory/supersedes(_:_:)``'s rule, so the
/// answer does not depend on the order rows arrive in), orders the rows by (SEQ, ID) and folds them into the
/// identifier's state.
struct IdentifierGroup {
    struct Row {
        var seq: Int64
        var time: Int64
        var removed: Bool
        /// 0 for rows already in the store, else the input ordinal (file order).
        var ordinal: Int64
        var id: Range<Int>
        var segment: Range<Int>
    }

    private(set) var bytes: [UInt8] = []
    private(set) var rows: [Row] = []
    private(set) var type: Range<Int> = 0..<0
    private(set) var value: Range<Int> = 0..<0
    private(set) var hasKey = false

    // Rule 2's state after `settle()`.
    private(set) var active = false
    private(set) var firstSeen: Int64 = 0
    private(set) var firstSeq: Int64 = 0
    private(set) var lastSegment: Range<Int> = 0..<0
    private(set) var added = 0
    private(set) var duplicates = 0

    init() {
        bytes.reserveCapacity(4096)
        rows.reserveCapacity(16)
    }

    private mutating func append(_ b: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let start = bytes.count
        bytes.append(contentsOf: b)
        return start..<bytes.count
    }

    /// Starts a new identifier with the key of `record` (a ``MappingRecord``).
    mutating func start(_ record: UnsafeRawPointer) {
        bytes.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
        var r = RecordReader(record)
        type = append(r.text())
        value = append(r.text())
        hasKey = true
    }

    /// Whether `record` has this group's key.
    func sameKey(_ record: UnsafeRawPointer) -> Bool {
        guard hasKey else { return false }
        var r = RecordReader(record)
        return bytes.withUnsafeBufferPointer { b in
            compareBytes(r.text(), UnsafeBufferPointer(rebasing: b[type])) == 0
                && compareBytes(r.text(), UnsafeBufferPointer(rebasing: b[value])) == 0
        }
    }

    /// Adds the row of a ``MappingRecord``.
    mutating func addNew(_ record: UnsafeRawPointer) {
        var r = RecordReader(record)
        r.skipText()
        r.skipText()
        let seq = r.int64()
        let id = append(r.text())
        let ordinal = r.int64()
        let segment = append(r.text())
        let time = r.int64()
        let removed = r.uint8() == 1
        rows.append(Row(seq: seq, time: time, removed: removed, ordinal: ordinal, id: id, segment: segment))
    }

    /// Adds the rows of a stored history blob (see ``encodeHistory(into:)``).
    mutating func addStored(history: UnsafeRawBufferPointer) {
        var r = RecordReader(history)
        while !r.atEnd {
            let seq = r.int64()
            let time = r.int64()
            let removed = r.uint8() == 1
            let id = append(r.text())
            let segment = append(r.text())
            rows.append(Row(seq: seq, time: time, removed: removed, ordinal: 0, id: id, segment: segment))
        }
    }

    private static func less(_ a: Row, _ b: Row, _ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        if a.seq != b.seq { return a.seq < b.seq }
        return compareBytes(UnsafeBufferPointer(rebasing: buf[a.id]), UnsafeBufferPointer(rebasing: buf[b.id])) < 0
    }

    /// Whether `a` supersedes `b`, two rows with the same ID: the greater by (SEQ, REMOVED over CREATED, time,
    /// segment id bytes) wins (``IdentifierHistory/supersedes(_:_:)`` on bytes). Rows equal on all of these are
    /// the same row, and then the one stored (or read) first stays.
    private static func supersedes(_ a: Row, _ b: Row, _ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        if a.seq != b.seq { return a.seq > b.seq }
        if a.removed != b.removed { return a.removed }
        if a.time != b.time { return a.time > b.time }
        let c = compareBytes(
            UnsafeBufferPointer(rebasing: buf[a.segment]), UnsafeBufferPointer(rebasing: buf[b.segment]))
        if c != 0 { return c > 0 }
        return a.ordinal < b.ordinal
    }

    /// Keeps one row per ID, the one that supersedes the others, orders the rows by (SEQ, ID) and folds them
    /// (rule 2). Returns false when nothing changed: every new row was a row already kept, or lost to one.
    mutating func settle() -> Bool {
        var rows = self.rows
        var duplicates = 0
        let snapshot = bytes  // not mutated below: no copy is made
        snapshot.withUnsafeBufferPointer { buf in
            guard rows.count > 1 else { return }
            func id(_ row: Row) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buf[row.id]) }
            // Per ID, the row that supersedes the others first.
            let order = rows.indices.sorted { i, j in
                let c = compareBytes(id(rows[i]), id(rows[j]))
                return c != 0 ? c < 0 : IdentifierGroup.supersedes(rows[i], rows[j], buf)
            }
            var drop = [Bool](repeating: false, count: rows.count)
            for k in 1..<order.count where compareBytes(id(rows[order[k - 1]]), id(rows[order[k]])) == 0 {
                drop[order[k]] = true
            }
            var kept: [Row] = []
            kept.reserveCapacity(rows.count)
            for (i, row) in rows.enumerated() {
                if !drop[i] {
                    kept.append(row)
                } else if row.ordinal != 0 {
                    duplicates += 1
                }
            }
            kept.sort { IdentifierGroup.less($0, $1, buf) }
            rows = kept
        }
        self.rows = rows
        self.duplicates = duplicates
        // A new row kept is either a new ID or one that superseded the stored row with its ID.
        added = rows.reduce(0) { $0 + ($1.ordinal != 0 ? 1 : 0) }
        guard added > 0 else { return false }
        var first = true
        for row in rows {
            if first || (!row.removed && !active) {
                firstSeen = row.time
                firstSeq = row.seq
            }
            first = false
            active = !row.removed
            lastSegment = row.segment
        }
        return true
    }

    /// The rows as a history blob: per row SEQ, time, removed, ID, segment id.
    func encodeHistory(into builder: inout RecordBuilder) {
        builder.reset()
        bytes.withUnsafeBufferPointer { buf in
            for row in rows {
                builder.int64(row.seq)
                builder.int64(row.time)
                builder.uint8(row.removed ? 1 : 0)
                builder.text(UnsafeBufferPointer(rebasing: buf[row.id]))
                builder.text(UnsafeBufferPointer(rebasing: buf[row.segment]))
            }
        }
    }

    /// Calls `body` with the bytes of `range`.
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Calls `body` with the whole byte buffer (ranges such as ``type`` index into it).
    func withAllBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer(body)
    }

    /// The text of `range`.
    func string(_ range: Range<Int>) -> String { withBytes(range) { String(decoding: $0, as: UTF8.self) } }
}

/// A decoded history blob, for `explain` and `verify`.
public struct HistoryRow: Sendable, Equatable {
    /// SEQ.
    public var seq: Int64
    /// TIMESTAMP, or RECEIVED_AT when empty.
    public var time: Instant
    /// Whether the row is REMOVED.
    public var removed: Bool
    /// The row's ID.
    public var id: String
    /// The segment id it was seen on.
    public var segmentID: String

    static func decode(_ blob: UnsafeRawBufferPointer) -> [HistoryRow] {
        var r = RecordReader(blob)
        var rows: [HistoryRow] = []
        while !r.atEnd {
            let seq = r.int64()
            let time = Instant(microseconds: r.int64())
            let removed = r.uint8() == 1
            let id = String(decoding: r.text(), as: UTF8.self)
            let segment = String(decoding: r.text(), as: UTF8.self)
            rows.append(HistoryRow(seq: seq, time: time, removed: removed, id: id, segmentID: segment))
        }
        return rows
    }
}
