#if canImport(Glibc)
    import Glibc
#endif
import IDAuditCore
import Dispatch

/// Orders binary records by a comparison function, within a fixed memory budget.
///
/// Records (opaque bytes, framed with a 4-byte length) fill a run buffer; a full buffer is sorted and spilled to a
/// temporary file on a second thread while the caller keeps filling the other buffer; ``finish()`` merges the runs
/// (a binary heap over one read buffer per run). Input that fits in one buffer is sorted in memory and never touches
/// the disk. This is what lets a bulk ingest write each SQLite B-tree in key order, once, instead of making millions
/// of random inserts.
final class ExternalSorter: @unchecked Sendable {
    // The worker thread writes `workerError` and `spare`; the caller reads them only after `workerGroup.wait()`,
    // which orders the accesses. Everything else is touched by the caller's thread only.
    /// Whether the record at `a` sorts before the record at `b` (both pointing at the payload, after the length).
    typealias Less = @Sendable (UnsafeRawPointer, UnsafeRawPointer) -> Bool

    private let directory: String
    private let runBytes: Int
    private let order: RecordOrder
    private var filling: RunBuffer
    private var spare: RunBuffer?
    private var runPaths: [String] = []
    private let worker = DispatchQueue(label: "idaudit.sort")
    private let workerGroup = DispatchGroup()
    private var workerError: SortError?
    /// Records appended so far.
    private(set) var count = 0

    /// - Parameters:
    ///   - directory: where run files go (created; removed by ``close()``).
    ///   - runBytes: the size of each of the two run buffers.
    init(directory: String, runBytes: Int = 48 << 20, order: RecordOrder) {
        self.directory = directory
        self.runBytes = runBytes
        self.order = order
        filling = RunBuffer(capacity: runBytes)
    }

    deinit { close() }

    /// Appends one record.
    func append(_ payload: UnsafeRawBufferPointer) throws {
        if !filling.fits(payload.count) {
            try spill()
        }
        filling.append(payload)
        count += 1
    }

    /// Sorts the current buffer and writes it as a run, on the worker thread.
    private func spill() throws {
        if runPaths.isEmpty { mkdir(directory, 0o700) }
        let path = directory + "/run-\(runPaths.count)"
        runPaths.append(path)
        workerGroup.wait()
        if let workerError { throw workerError }
        let full = filling
        filling = spare ?? RunBuffer(capacity: runBytes)
        spare = nil
        let order = self.order
        let box = SortJob(buffer: full)
        workerGroup.enter()
        worker.async { [self] in
            do {
                box.buffer.sort(order)
                try box.buffer.write(to: path)
            } catch let error as SortError {
                workerError = error
            } catch {
                workerError = SortError(message: "\(error)")
            }
            box.buffer.clear()
            spare = box.buffer
            workerGroup.leave()
        }
        // The caller goes on filling the other buffer while this one is sorted and written.
    }

    /// The records in order. The sorter must not be appended to afterwards.
    func finish() throws -> any RecordStream {
        workerGroup.wait()
        if let workerError { throw workerError }
        if runPaths.isEmpty {
            filling.sort(order)
            return InMemoryStream(buffer: filling)
        }
        if filling.count > 0 { try spill() }
        workerGroup.wait()
        if let workerError { throw workerError }
        spare = nil
        filling = RunBuffer(capacity: 0)
        return try MergeStream(paths: runPaths, less: order.less)
    }

    /// Removes the run files.
    func close() {
        workerGroup.wait()
        for path in runPaths { unlink(path) }
        if !runPaths.isEmpty { rmdir(directory) }
        runPaths.removeAll()
    }
}

/// How records of one kind are ordered: the comparison, and optionally an abbreviation of the key, a 64-bit prefix
/// consistent with it (key(a) < key(b) implies less(a, b)), so that sorting a run compares integers and reads the
/// records only on a tie.
struct RecordOrder: Sendable {
    /// The keys of a run's records, given the number of records and each one's payload; nil when this run cannot
    /// be abbreviated (the sort then compares records only).
    typealias Abbreviate = @Sendable (_ count: Int, _ payload: (Int) -> UnsafeRawPointer) -> [UInt64]?

    let less: ExternalSorter.Less
    var abbreviate: Abbreviate?

    /// For records whose order starts with a byte string (an id): abbreviated by its first 8 bytes.
    static func leadingText(_ less: @escaping ExternalSorter.Less) -> RecordOrder {
        RecordOrder(less: less) { count, payload in
            (0..<count).map { i in
                var r = RecordReader(payload(i))
                return bytePrefix(r.text(), 8)
            }
        }
    }
}

/// Hands a buffer to the worker thread; ownership moves with it, so no two threads touch it at once.
private final class SortJob: @unchecked Sendable {
    let buffer: RunBuffer
    init(buffer: RunBuffer) { self.buffer = buffer }
}

/// A failure sorting or spilling records.
struct SortError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A block of length-framed records and their offsets.
final class RunBuffer {
    private var bytes: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    private(set) var offsets: [Int] = []

    init(capacity: Int) {
        self.capacity = capacity
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 16), alignment: 8)
    }

    deinit { bytes.deallocate() }

    var count: Int { offsets.count }

    func fits(_ payload: Int) -> Bool { used + payload + 4 <= capacity || offsets.isEmpty }

    func append(_ payload: UnsafeRawBufferPointer) {
        if used + payload.count + 4 > capacity {
            // A single record larger than the buffer: grow once (rare; a huge value).
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: used + payload.count + 4, alignment: 8)
            bigger.copyMemory(from: bytes, byteCount: used)
            bytes.deallocate()
            bytes = bigger
        }
        bytes.storeBytes(of: UInt32(payload.count), toByteOffset: used, as: UInt32.self)
        if let base = payload.baseAddress { (bytes + used + 4).copyMemory(from: base, byteCount: payload.count) }
        offsets.append(used)
        used += payload.count + 4
    }

    func sort(_ order: RecordOrder) {
        let base = UnsafeRawPointer(bytes)
        let less = order.less
        let offsets = self.offsets
        guard let keys = order.abbreviate?(offsets.count, { base + offsets[$0] + 4 }) else {
            self.offsets.sort { less(base + $0 + 4, base + $1 + 4) }
            return
        }
        var keyed = zip(keys, offsets).map { KeyedOffset(key: $0.0, offset: $0.1) }
        keyed.sort { $0.key != $1.key ? $0.key < $1.key : less(base + $0.offset + 4, base + $1.offset + 4) }
        for i in keyed.indices { self.offsets[i] = keyed[i].offset }
    }

    private struct KeyedOffset {
        var key: UInt64
        var offset: Int
    }

    func record(_ i: Int) -> UnsafeRawBufferPointer {
        let offset = offsets[i]
        let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        return UnsafeRawBufferPointer(start: bytes + offset + 4, count: length)
    }

    func clear() {
        used = 0
        offsets.removeAll(keepingCapacity: true)
    }

    func write(to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw SortError(message: "\(path): cannot create: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        let out = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { out.deallocate() }
        var filled = 0
        func flush() throws {
            var done = 0
            while done < filled {
                let n = Glibc.write(fd, out + done, filled - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SortError(message: "\(path): write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
            filled = 0
        }
        for offset in offsets {
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) + 4
            if filled + length > 1 << 20 { try flush() }
            if length > 1 << 20 {
                filled = 0
                var done = 0
                while done < length {
                    let n = Glibc.write(fd, bytes + offset + done, length - done)
                    guard n > 0 else { throw SortError(message: "\(path): write failed") }
                    done += n
                }
                continue
            }
            (out + filled).copyMemory(from: bytes + offset, byteCount: length)
            filled += length
        }
        try flush()
    }
}

/// Records in order, one at a time; the current record is valid until the next call to ``next()``.
protocol RecordStream: AnyObject {
    /// Advances; nil at the end.
    func next() throws -> UnsafeRawBufferPointer?
}

private final class InMemoryStream: RecordStream {
    let buffer: RunBuffer
    var index = 0
    init(buffer: RunBuffer) { self.buffer = buffer }

    func next() throws -> UnsafeRawBufferPointer? {
        guard index < buffer.count else { return nil }
        defer { index += 1 }
        return buffer.record(index)
    }
}

/// Reads one run file sequentially.
private final class RunReader {
    let fd: Int32
    let path: String
    var buffer: UnsafeMutableRawPointer
    var capacity = 1 << 20
    var start = 0
    var end = 0
    var eof = false
    var current = UnsafeRawBufferPointer(start: nil, count: 0)

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SortError(message: "\(path): cannot open: \(String(cString: strerror(errno)))") }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// Moves to the next record; false at the end of the run.
    func advance() throws -> Bool {
        while true {
            if end - start >= 4 {
                let length = Int(buffer.loadUnaligned(fromByteOffset: start, as: UInt32.self))
                if end - start >= length + 4 {
                    current = UnsafeRawBufferPointer(start: buffer + start + 4, count: length)
                    start += length + 4
                    return true
                }
                if length + 4 > capacity {
                    let bigger = UnsafeMutableRawPointer.allocate(byteCount: length + 4, alignment: 8)
                    bigger.copyMemory(from: buffer + start, byteCount: end - start)
                    buffer.deallocate()
                    buffer = bigger
                    capacity = length + 4
                    end -= start
                    start = 0
                }
            }
            if eof { return false }
            // Keep the partial record at the front and read more behind it.
            if start > 0 {
                (buffer).copyMemory(from: buffer + start, byteCount: end - start)
                end -= start
                start = 0
            }
            let n = read(fd, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw SortError(message: "\(path): read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { eof = true }
            end += n
        }
    }
}

/// A k-way merge of sorted runs through a binary min-heap.
private final class MergeStream: RecordStream {
    private var readers: [RunReader] = []
    private var heap: [Int] = []
    private let less: ExternalSorter.Less
    private var pending: Int?

    init(paths: [String], less: @escaping ExternalSorter.Less) throws {
        self.less = less
        for path in paths {
            let reader = try RunReader(path: path)
            readers.append(reader)
            if try reader.advance() { push(readers.count - 1) }
        }
    }

    private func before(_ a: Int, _ b: Int) -> Bool {
        guard let pa = readers[a].current.baseAddress, let pb = readers[b].current.baseAddress else { return false }
        if less(pa, pb) { return true }
        if less(pb, pa) { return false }
        return a < b  // callers make records unique (an ordinal breaks ties), so this is only for safety
    }

    private func push(_ r: Int) {
        heap.append(r)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func siftDown() {
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count, before(heap[l], heap[m]) { m = l }
            if r < heap.count, before(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    func next() throws -> UnsafeRawBufferPointer? {
        // The reader whose record was handed out last moves on only now, so that record stayed valid.
        if let r = pending {
            pending = nil
            if try readers[r].advance() {
                heap[0] = r
            } else {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            if !heap.isEmpty { siftDown() }
        }
        guard let top = heap.first else { return nil }
        pending = top
        return readers[top].current
    }
}
