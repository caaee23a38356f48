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

    /// Abbreviated by the rank of the type among this run's types (in byte order), then the value's first 7 bytes.
    /// A run with more than 255 types is sorted without keys.
    static let order = RecordOrder(less: less) { count, payload in
        var types: [UnsafeBufferPointer<UInt8>] = []
        var typeOf = [UInt8](repeating: 0, count: count)
        var last = -1
        for i in 0..<count {
            var r = RecordReader(payload(i))
            let type = r.text()
            if last < 0 || compareBytes(types[last], type) != 0 {
                if let known = types.firstIndex(where: { compareBytes($0, type) == 0 }) {
                    last = known
                } else {
                    guard types.count < 255 else { return nil }
                    types.append(type)
                    last = types.count - 1
                }
            }
            typeOf[i] = UInt8(last)
        }
        var rank = [UInt64](repeating: 0, count: types.count)
        for (place, t) in types.indices.sorted(by: { compareBytes(types[$0], types[$1]) < 0 }).enumerated() {
            rank[t] = UInt64(place)
        }
        return (0..<count).map { i in
            var r = RecordReader(payload(i))
            r.skipText()
            return rank[Int(typeOf[i])] << 56 | bytePrefix(r.text(), 7)
        }
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

    /// Abbreviated by the segment id's first 8 bytes.
    static let order = RecordOrder.leadingText(less)

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
