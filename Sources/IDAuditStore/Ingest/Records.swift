/// Builds binary records (little-endian, length-prefixed byte strings) in a reusable buffer.
struct RecordBuilder {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(512) }

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func int64(_ v: Int64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func uint8(_ v: UInt8) { bytes.append(v) }

    /// A byte string with a 4-byte length.
    mutating func text(_ b: UnsafeBufferPointer<UInt8>) {
        withUnsafeBytes(of: UInt32(b.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: b)
    }

    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { text($0) }
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }
}

/// Reads what ``RecordBuilder`` wrote, front to back.
struct RecordReader {
    private(set) var pointer: UnsafeRawPointer
    private let end: UnsafeRawPointer

    init(_ record: UnsafeRawPointer, count: Int = Int.max / 2) {
        pointer = record
        end = record + count
    }

    init(_ buffer: UnsafeRawBufferPointer) {
        pointer = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!
        end = pointer + buffer.count
    }

    var atEnd: Bool { pointer >= end }

    mutating func int64() -> Int64 {
        let v = pointer.loadUnaligned(as: Int64.self)
        pointer += 8
        return Int64(littleEndian: v)
    }

    mutating func uint8() -> UInt8 {
        let v = pointer.load(as: UInt8.self)
        pointer += 1
        return v
    }

    mutating func text() -> UnsafeBufferPointer<UInt8> {
        let n = Int(UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
        let start = (pointer + 4).assumingMemoryBound(to: UInt8.self)
        pointer += 4 + n
        return UnsafeBufferPointer(start: start, count: n)
    }

    mutating func skipText() {
        let n = Int(UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
        pointer += 4 + n
    }
}

/// Byte-string comparison: memcmp, then length (the order of SQLite's BINARY collation).
@inline(__always)
func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int32 {
    let n = min(a.count, b.count)
    if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let c = memcmp(pa, pb, n)
        if c != 0 { return c }
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}

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

/// Graph records: segment, seq, ordinal, canonical, timestamp (Int64.min for none); ordered by
/// (segment, seq, ordinal).
enum GraphRecord {
    static let noTime = Int64.min

    static let less: ExternalSorter.Less = { a, b in
        var ra = RecordReader(a)
        var rb = RecordReader(b)
        let c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c < 0 }
        let sa = ra.int64()
        let sb = rb.int64()
        if sa != sb { return sa < sb }
        return ra.int64() < rb.int64()
    }
}
