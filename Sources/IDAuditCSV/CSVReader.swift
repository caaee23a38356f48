/// A malformed CSV file: the message names the file and the line the record starts on.
public struct CSVError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// The 1-based physical line the record starts on.
    public var line: Int
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(path: String, line: Int, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { "\(path):\(line): \(message)" }
}

/// A streaming RFC 4180 reader: quoted fields with commas, doubled quotes and line breaks; LF or CRLF.
///
/// Built for the ingest hot path: records are parsed in place in a large read buffer and fields are handed out as
/// byte buffers, so columns nobody reads cost nothing. A UTF-8 byte order mark is skipped; blank lines are skipped.
///
/// ```swift
/// let reader = try CSVReader(path: "external_id_mapping_updates.csv.gz")
/// while try reader.next() {
///     let value = reader.string(at: 2)
/// }
/// ```
public final class CSVReader {
    /// The file being read, for messages.
    public let path: String
    private let source: any ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0  // first byte of the current record
    private var end = 0  // one past the last valid byte
    private var eof = false
    private var nextLine = 1
    private var fields: [(start: Int, end: Int, quoted: Bool)] = []
    private var scratch: [UInt8] = []
    private var recordEnd = 0
    private var linesInRecord = 0
    /// The 1-based line the current record starts on.
    public private(set) var line = 0
    /// Bytes consumed so far (of the decompressed stream), for progress.
    public private(set) var bytesRead: Int64 = 0

    /// Opens `path` (gzip when it ends in `.gz`).
    public convenience init(path: String) throws(InputError) {
        try self.init(source: openByteSource(path: path), path: path)
    }

    /// Reads from `source`; `path` names it in messages.
    public init(source: any ByteSource, path: String, bufferSize: Int = 1 << 20) {
        self.source = source
        self.path = path
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bufferSize, 64), alignment: 16)
        fields.reserveCapacity(32)
    }

    deinit { buffer.deallocate() }

    /// The number of fields of the current record.
    public var fieldCount: Int { fields.count }

    /// Advances to the next record; false at the end of the file.
    public func next() throws -> Bool {
        start = recordEnd
        line = nextLine
        while true {
            if let found = try parseRecord() {
                if found { return true }
                continue  // a blank line: parseRecord consumed it
            }
            // The record runs past the buffered bytes: keep it, read more, and parse it again.
            if eof {
                if start == end { return false }
                throw CSVError(path: path, line: line, message: "unterminated quoted field (a \" is never closed)")
            }
            try refill()
        }
    }

    /// Parses the record at `start`; nil when more bytes are needed, false for a skipped blank line.
    private func parseRecord() throws -> Bool? {
        fields.removeAll(keepingCapacity: true)
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var pos = start
        if line == 1, bytesRead == 0, end - pos >= 3, base[pos] == 0xEF, base[pos + 1] == 0xBB, base[pos + 2] == 0xBF {
            pos += 3
            start = pos
        }
        var newlines = 0
        // A blank line (LF or CRLF) is skipped.
        if pos < end, base[pos] == 10 {
            recordEnd = pos + 1
            start = recordEnd
            nextLine += 1
            line = nextLine
            return false
        }
        if pos + 1 < end, base[pos] == 13, base[pos + 1] == 10 {
            recordEnd = pos + 2
            start = recordEnd
            nextLine += 1
            line = nextLine
            return false
        }
        if pos >= end { return eof && pos == end ? nil : nil }
        while true {
            guard pos < end else { return eofRecord(fieldStart: pos, quoted: false, newlines: newlines) }
            if base[pos] == 34 {  // '"'
                let fieldStart = pos + 1
                var p = fieldStart
                while true {
                    guard p < end else { return nil }
                    let c = base[p]
                    if c == 34 {
                        if p + 1 < end, base[p + 1] == 34 {
                            p += 2
                            continue
                        }
                        if p + 1 >= end, !eof { return nil }
                        break
                    }
                    if c == 10 { newlines += 1 }
                    p += 1
                }
                fields.append((fieldStart, p, true))
                p += 1  // the closing quote
                if p >= end {
                    guard eof else { return nil }
                    return finishRecord(at: p, newlines: newlines)
                }
                switch base[p] {
                case 44:
                    pos = p + 1
                    if pos >= end, eof {
                        fields.append((pos, pos, false))
                        return finishRecord(at: pos, newlines: newlines)
                    }
                case 10:
                    return finishRecord(at: p + 1, newlines: newlines + 1)
                case 13:
                    if p + 1 < end {
                        if base[p + 1] == 10 { return finishRecord(at: p + 2, newlines: newlines + 1) }
                    } else if !eof {
                        return nil
                    }
                    throw CSVError(
                        path: path, line: line, message: "unexpected character after a closing quote in field \(fields.count)")
                default:
                    throw CSVError(
                        path: path, line: line,
                        message: "unexpected character after a closing quote in field \(fields.count)"
                            + " (a quoted field must end at a comma or the end of the line)")
                }
            } else {
                var p = pos
                while p < end {
                    let c = base[p]
                    if c == 44 || c == 10 { break }
                    p += 1
                }
                guard p < end else {
                    if !eof { return nil }
                    return eofRecord(fieldStart: pos, quoted: false, newlines: newlines)
                }
                if base[p] == 44 {
                    fields.append((pos, p, false))
                    pos = p + 1
                    if pos >= end, eof {
                        fields.append((pos, pos, false))
                        return finishRecord(at: pos, newlines: newlines)
                    }
                } else {
                    let fieldEnd = p > pos && base[p - 1] == 13 ? p - 1 : p
                    fields.append((pos, fieldEnd, false))
                    return finishRecord(at: p + 1, newlines: newlines + 1)
                }
            }
        }
    }

    private func eofRecord(fieldStart: Int, quoted: Bool, newlines: Int) -> Bool? {
        guard eof else { return nil }
        var fieldEnd = end
        if let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), fieldEnd > fieldStart,
            base[fieldEnd - 1] == 13
        {
            fieldEnd -= 1
        }
        fields.append((fieldStart, fieldEnd, quoted))
        return finishRecord(at: end, newlines: newlines)
    }

    private func finishRecord(at position: Int, newlines: Int) -> Bool {
        recordEnd = position
        nextLine = line + newlines
        bytesRead += Int64(position - start)
        return true
    }

    private func refill() throws {
        // Move the partial record to the front, growing the buffer when one record fills it.
        let pending = end - start
        if start > 0, pending > 0, let base = buffer.baseAddress {
            base.copyMemory(from: base + start, byteCount: pending)
        }
        recordEnd -= start
        start = 0
        end = pending
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            if let to = bigger.baseAddress, let from = buffer.baseAddress { to.copyMemory(from: from, byteCount: end) }
            buffer.deallocate()
            buffer = bigger
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if n == 0 { eof = true }
        end += n
    }

    /// The bytes of field `index` of the current record, valid until the next call to ``next()``.
    ///
    /// Quoted fields come back unquoted, with doubled quotes undone.
    public func withField<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let f = fields[index]
        let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let raw = UnsafeBufferPointer(start: base + f.start, count: f.end - f.start)
        guard f.quoted, raw.contains(34) else { return try body(raw) }
        scratch.removeAll(keepingCapacity: true)
        var i = 0
        while i < raw.count {
            scratch.append(raw[i])
            i += raw[i] == 34 ? 2 : 1
        }
        return try scratch.withUnsafeBufferPointer { try body($0) }
    }

    /// Whether field `index` is empty.
    public func isEmpty(_ index: Int) -> Bool { fields[index].end == fields[index].start }

    /// Field `index` as a String, or nil when its bytes are not valid UTF-8.
    public func string(at index: Int) -> String? {
        withField(index) { bytes in
            // ASCII (nearly every field) is valid UTF-8: decoded directly, without the generic validation's cost.
            for byte in bytes where byte >= 0x80 { return String(validating: bytes, as: UTF8.self) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Every field of the current record as Strings (invalid UTF-8 repaired), for headers and messages.
    public func allFields() -> [String] {
        (0..<fields.count).map { i in withField(i) { String(decoding: $0, as: UTF8.self) } }
    }

    /// The current record's raw text (as read, quotes included), for a rejects file.
    public func rawRecord() -> String {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return "" }
        var stop = recordEnd
        if stop > start, base[stop - 1] == 10 { stop -= 1 }
        if stop > start, base[stop - 1] == 13 { stop -= 1 }
        return String(decoding: UnsafeBufferPointer(start: base + start, count: max(0, stop - start)), as: UTF8.self)
    }
}

/// An input file that cannot be read, or a bad line in it: `file:line: what is wrong` (`file: what is wrong` when
/// the problem is not on one line). Request files and plans report their problems with it.
public struct FileLineError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var file: String
    /// The 1-based line (0 when the problem is not on one line).
    public var line: Int
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}
