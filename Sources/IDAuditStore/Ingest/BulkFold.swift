import IDAuditCore
import Dispatch
import Foundation
import GRDB
import GRDBSQLite

/// The bulk ingest's last step on two cores: a worker thread merges the sorted runs and settles each identifier
/// (rule 2) into batches of ready-to-insert rows, while the caller's thread inserts the previous batch into SQLite.
///
/// Only for an empty store: there is no stored history to read, so the worker never needs the database.
final class BulkFold: @unchecked Sendable {
    // Ownership of each batch passes between the two threads through the semaphores: a batch is written only by
    // the worker after `free.wait()` and read only by the caller after `ready.wait()`.
    private let batchBytes = 4 << 20
    private var batches: [RecordBuilder]
    private var filledIndex: [Int] = []
    private let free = DispatchSemaphore(value: 3)
    private let ready = DispatchSemaphore(value: 0)
    private let lock = DispatchSemaphore(value: 1)
    private var queue: [Int] = []
    private var finished = false
    private var failure: (any Error)?
    private(set) var counts = FileCounts()

    init() {
        batches = Array(repeating: RecordBuilder(), count: 3)
    }

    /// Runs the fold over `stream` on a worker thread and calls `insert` with each settled row, in key order.
    func run(
        stream: any RecordStream, canonical: CanonicalResolver, counts initial: FileCounts,
        insert: (inout RecordReader) throws -> Void
    ) throws -> FileCounts {
        counts = initial
        let streamBox = StreamBox(stream: stream)
        let worker = Thread { [self] in self.produce(streamBox.stream, canonical) }
        worker.stackSize = 1 << 22
        worker.start()
        while true {
            ready.wait()
            lock.wait()
            let next = queue.isEmpty ? nil : queue.removeFirst()
            let done = finished && next == nil
            lock.signal()
            if done { break }
            guard let index = next else { continue }
            do {
                try batches[index].withBytes { raw in
                    var reader = RecordReader(raw)
                    while !reader.atEnd { try insert(&reader) }
                }
            } catch {
                // Stop the worker: drain what it still sends.
                lock.wait()
                failure = failure ?? error
                lock.signal()
            }
            free.signal()
        }
        if let failure { throw failure }
        return counts
    }

    private func produce(_ stream: any RecordStream, _ canonical: CanonicalResolver) {
        var group = IdentifierGroup()
        var history = RecordBuilder()
        var index = 0
        free.wait()
        batches[index].reset()
        func ship() {
            lock.wait()
            queue.append(index)
            lock.signal()
            ready.signal()
            free.wait()
            index = (index + 1) % 3
            batches[index].reset()
        }
        func emit() {
            guard group.settle() else {
                counts.duplicate += group.duplicates
                return
            }
            counts.stored += group.added
            counts.duplicate += group.duplicates
            group.encodeHistory(into: &history)
            let merged = group.withBytes(group.lastSegment) { canonical.mergedCanonical(of: $0) }
            group.withAllBytes { bytes in
                batches[index].text(UnsafeBufferPointer(rebasing: bytes[group.type]))
                batches[index].text(UnsafeBufferPointer(rebasing: bytes[group.value]))
                batches[index].uint8(group.active ? 1 : 0)
                batches[index].text(UnsafeBufferPointer(rebasing: bytes[group.lastSegment]))
                if let merged {
                    batches[index].text(merged)
                } else {
                    batches[index].text(UnsafeBufferPointer(rebasing: bytes[group.lastSegment]))
                }
            }
            batches[index].int64(group.firstSeen)
            batches[index].int64(group.firstSeq)
            batches[index].int64(Int64(group.rows.count))
            history.withBytes { batches[index].text(UnsafeBufferPointer(start: $0.baseAddress?.assumingMemoryBound(to: UInt8.self), count: $0.count)) }
            if batches[index].bytes.count >= batchBytes { ship() }
        }
        do {
            var seen = 0
            while let record = try stream.next() {
                seen += 1
                if seen & 0xFFFF == 0 {
                    lock.wait()
                    let stop = failure != nil
                    lock.signal()
                    if stop { break }
                }
                guard let base = record.baseAddress else { continue }
                if !group.sameKey(base) {
                    if group.hasKey { emit() }
                    group.start(base)
                }
                group.addNew(base)
            }
            if group.hasKey { emit() }
        } catch {
            lock.wait()
            failure = failure ?? error
            lock.signal()
        }
        lock.wait()
        queue.append(index)
        finished = true
        lock.signal()
        ready.signal()
        ready.signal()
    }
}

/// Moves the stream to the worker thread, which then owns it.
private final class StreamBox: @unchecked Sendable {
    let stream: any RecordStream
    init(stream: any RecordStream) { self.stream = stream }
}
