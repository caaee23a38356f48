import IDAuditCore

#if canImport(Glibc)
    import Glibc
#endif

/// Mapping records as the bulk sort orders them.
///
/// Layout: type, value, seq, id, ordinal, segment, time, removed. Order: (type, value, seq, id, ordinal): rule 2's
/// order, then input order, so equal rows keep the order they were read in.
enum MappingRecord {
    static func encode(
        into builder: inout RecordBuilder, type: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>,
        seq: Int64, id: UnsafeBufferPointer<UInt8>, ordinal: Int64, segment: UnsafeBufferPointer<UInt8>, time: Int64,
        removed: Bool
    ) {
        builder.text(type)
        builder.text(value)
        builder.int64(seq)
        builder.text(id)
        builder.int64(ordinal)
        builder.text(segment)
        builder.int64(time)
        builder.uint8(removed ? 1 : 0)
    }

    static let less: ExternalSorter.Less = { a, b in
        var ra = RecordReader(a)
        var rb = RecordReader(b)
        var c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c < 0 }
        c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c < 0 }
        let sa = ra.int64()
        let sb = rb.int64()
        if sa != sb { return sa < sb }
        c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c < 0 }
        return ra.int64() < rb.int64()
    }
}

/// Graph records: segment, seq, ordinal, canonical, timestamp (Int64.min for none); ordered by (segment, seq), then
/// the row that is kept of several with that key first: the greatest by (canonical bytes, timestamp), then input order.
enum GraphRecord {
    static let noTime = Int64.min

    static let less: ExternalSorter.Less = { a, b in
        var ra = RecordReader(a)
        var rb = RecordReader(b)
        var c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c < 0 }
        let sa = ra.int64()
        let sb = rb.int64()
        if sa != sb { return sa < sb }
        let oa = ra.int64()
        let ob = rb.int64()
        c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c > 0 }
        let ta = ra.int64()
        let tb = rb.int64()
        if ta != tb { return ta > tb }
        return oa < ob
    }
}
