import IDAuditCSV

/// A bounded buffer of encoded CSV rows, written out in a shuffled order each time it fills up.
///
/// Profiles Sync unloads come in no particular order; shuffling chunks of a few thousand rows is enough to break
/// every profile's rows apart while keeping memory bounded, whatever the size of the export.
struct ShuffledRows {
    /// The encoded rows, back to back, each ending in LF; append a row's fields between ``beginRow()`` and
    /// ``endRow()``.
    var bytes: [UInt8] = []
    private var starts: [Int] = []
    private var order: [Int] = []
    private var output: [UInt8] = []
    /// Rows per chunk.
    let capacity: Int
    /// Rows written so far (header excluded).
    private(set) var rowsWritten = 0
    /// Bytes written so far (header included).
    private(set) var bytesWritten: Int64 = 0

    init(capacity: Int) {
        self.capacity = capacity
        starts.reserveCapacity(capacity)
        order.reserveCapacity(capacity)
    }

    /// Whether a chunk is complete.
    var isFull: Bool { starts.count >= capacity }

    /// Starts a row.
    mutating func beginRow() { starts.append(bytes.count) }

    /// Ends the row started by ``beginRow()``.
    mutating func endRow() { bytes.append(10) }

    /// Writes `header` unshuffled.
    mutating func writeHeader(_ header: [String], to file: OutputFile) throws(OutputError) {
        try file.writeCSVRecord(header)
        bytesWritten += Int64(header.joined(separator: ",").utf8.count + 1)
    }

    /// Writes the buffered rows in a random order and empties the buffer.
    mutating func drain(to file: OutputFile, using random: inout SampleRandom) throws(OutputError) {
        let count = starts.count
        guard count > 0 else { return }
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: 0..<count)
        var i = count - 1
        while i > 0 {
            order.swapAt(i, random.below(i + 1))
            i -= 1
        }
        output.removeAll(keepingCapacity: true)
        for row in order {
            let end = row + 1 < count ? starts[row + 1] : bytes.count
            output.append(contentsOf: bytes[starts[row]..<end])
        }
        try file.write(bytes: output)
        rowsWritten += count
        bytesWritten += Int64(output.count)
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
    }
}
