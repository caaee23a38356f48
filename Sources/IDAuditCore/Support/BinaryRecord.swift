import Foundation

// Compact binary records: the bulk ingest's sort runs, history blobs, and in-memory sort keys. Little-endian
// integers; byte strings with a 4-byte length. Comparing records field by field with `compareBytes` gives the byte
// order SQLite's BINARY collation uses.

/// Builds binary records (little-endian, length-prefixed byte strings) in a reusable buffer.
public struct RecordBuilder: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(512) }

    /// Empties the buffer, keeping its capacity.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// Bytes written so far: the offset the next record starts at.
    public var count: Int { bytes.count }

    /// Appends a little-endian Int64.
    public mutating func int64(_ v: Int64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a byte.
    public mutating func uint8(_ v: UInt8) { bytes.append(v) }

    /// A byte string with a 4-byte length.
    public mutating func text(_ b: UnsafeBufferPointer<UInt8>) {
        withUnsafeBytes(of: UInt32(b.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: b)
    }

    /// Appends a string's UTF-8 bytes with a 4-byte length.
    public mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { text($0) }
    }

    /// Calls `body` with the bytes written.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }
}

/// Reads what ``RecordBuilder`` wrote, front to back.
public struct RecordReader {
    private(set) var pointer: UnsafeRawPointer
    private let end: UnsafeRawPointer

    /// Reads from `record`; `count` bounds ``atEnd``.
    public init(_ record: UnsafeRawPointer, count: Int = Int.max / 2) {
        pointer = record
        end = record + count
    }

    /// Reads the whole of `buffer`.
    public init(_ buffer: UnsafeRawBufferPointer) {
        pointer = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!
        end = pointer + buffer.count
    }

    /// Whether everything has been read.
    public var atEnd: Bool { pointer >= end }

    /// Reads a little-endian Int64.
    public mutating func int64() -> Int64 {
        let v = pointer.loadUnaligned(as: Int64.self)
        pointer += 8
        return Int64(littleEndian: v)
    }

    /// Reads a byte.
    public mutating func uint8() -> UInt8 {
        let v = pointer.load(as: UInt8.self)
        pointer += 1
        return v
    }

    /// Reads a length-prefixed byte string (pointing into the record).
    public mutating func text() -> UnsafeBufferPointer<UInt8> {
        let n = Int(UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
        let start = (pointer + 4).assumingMemoryBound(to: UInt8.self)
        pointer += 4 + n
        return UnsafeBufferPointer(start: start, count: n)
    }

    /// Skips a length-prefixed byte string.
    public mutating func skipText() {
        let n = Int(UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
        pointer += 4 + n
    }
}

/// Byte-string comparison: memcmp, then length (the order of SQLite's BINARY collation).
@inline(__always)
public func compareBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int32 {
    let n = min(a.count, b.count)
    if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let c = memcmp(pa, pb, n)
        if c != 0 { return c }
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}


/// The first `n` (at most 8) bytes of `bytes` as a big-endian integer, zero-padded: consistent with ``compareBytes``
/// (a < b implies prefix(a) <= prefix(b)), so a sort can compare prefixes first and the bytes only on a tie.
@inline(__always)
public func bytePrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ n: Int) -> UInt64 {
    var key: UInt64 = 0
    for j in 0..<n { key = key << 8 | UInt64(j < bytes.count ? bytes[j] : 0) }
    return key
}

/// Sorts the indices of records laid out in one byte buffer, without touching reference counts in the comparisons:
/// sorting an array of structs holding Strings spends most of its time retaining and releasing them.
public func sortedRecordIndices(
    _ records: RecordBuilder, offsets: [Int], by less: (UnsafeRawPointer, UnsafeRawPointer) -> Bool
) -> [Int] {
    records.withBytes { raw in
        guard let base = raw.baseAddress else { return Array(offsets.indices) }
        return offsets.withUnsafeBufferPointer { starts in
            Array(starts.indices).sorted { less(base + starts[$0], base + starts[$1]) }
        }
    }
}
