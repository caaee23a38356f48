import Foundation
import IDAuditCSV
import IDAuditSample

/// A generated export read back into memory, for tests (keep it small: a few thousand profiles).
struct SampleExport {
    /// A row of `external_id_mapping_updates`, by column name.
    struct MappingRow {
        var fields: [String]
        var id: String { fields[0] }
        var segmentID: String { fields[1] }
        var hash: String { fields[2] }
        var type: String { fields[3] }
        var value: String { fields[4] }
        var timestamp: String { fields[5] }
        var receivedAt: String { fields[6] }
        var seq: Int64 { Int64(fields[7])! }
        var uuidTS: String { fields[8] }
        var eventName: String { fields[10] }
        var operation: String { fields[15] }
        var isRemoved: Bool { operation == "REMOVED" }
        var key: String { type + "\u{0}" + value }
    }

    /// A row of `id_graph_updates`.
    struct GraphRow {
        var fields: [String]
        var segmentID: String { fields[0] }
        var canonicalID: String { fields[1] }
        var timestamp: String { fields[4] }
        var seq: Int64 { Int64(fields[5])! }
    }

    let directory: String
    let result: SampleResult
    let mappingHeader: [String]
    let graphHeader: [String]
    let mapping: [MappingRow]
    let graph: [GraphRow]
    /// Field counts of every data row, to check them before the typed accessors index into them.
    let mappingFieldCounts: Set<Int>
    let graphFieldCounts: Set<Int>

    /// Generates `profiles` profiles with `seed` into a fresh temporary directory and reads them back.
    init(profiles: Int, seed: UInt64) throws {
        directory = NSTemporaryDirectory() + "idaudit-sample-\(UUID().uuidString)"
        result = try SampleGenerator.write(SampleOptions(profiles: profiles, seed: seed), to: directory)
        var header: [String] = []
        var counts = Set<Int>()
        mapping = try Self.read(directory + "/" + SampleGenerator.mappingFileName, header: &header, counts: &counts)
            .map { MappingRow(fields: $0) }
        mappingHeader = header
        mappingFieldCounts = counts
        counts = []
        graph = try Self.read(directory + "/" + SampleGenerator.graphFileName, header: &header, counts: &counts)
            .map { GraphRow(fields: $0) }
        graphHeader = header
        graphFieldCounts = counts
    }

    /// Deletes the directory.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The raw bytes of both files.
    func bytes() -> (mapping: Data, graph: Data) {
        (
            FileManager.default.contents(atPath: directory + "/" + SampleGenerator.mappingFileName) ?? Data(),
            FileManager.default.contents(atPath: directory + "/" + SampleGenerator.graphFileName) ?? Data()
        )
    }

    private static func read(_ path: String, header: inout [String], counts: inout Set<Int>) throws -> [[String]] {
        let reader = try CSVReader(path: path)
        var rows: [[String]] = []
        guard try reader.next() else { return rows }
        header = reader.allFields()
        while try reader.next() {
            counts.insert(reader.fieldCount)
            rows.append(reader.allFields())
        }
        return rows
    }

    /// The parent of every segment id: the CANONICAL_SEGMENT_ID of its highest-SEQ graph row.
    func parents() -> [String: String] {
        var latest: [String: GraphRow] = [:]
        for row in graph where (latest[row.segmentID]?.seq ?? .min) < row.seq {
            latest[row.segmentID] = row
        }
        return latest.mapValues(\.canonicalID)
    }

    /// The canonical id of `segmentID`, following parents.
    func canonical(of segmentID: String, parents: [String: String]) -> String {
        var current = segmentID
        while let parent = parents[current], parent != current { current = parent }
        return current
    }
}

/// Parses both time forms the sample writes, to microseconds since the epoch; nil for anything else.
func parseSampleTime(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    let iso = b.count == 24 && b[10] == 84 && b[23] == 90
    guard iso || (b.count == 26 && b[10] == 32) else { return nil }
    func number(_ from: Int, _ count: Int) -> Int64? {
        var v: Int64 = 0
        for i in from..<(from + count) {
            guard b[i] >= 48, b[i] <= 57 else { return nil }
            v = v * 10 + Int64(b[i] - 48)
        }
        return v
    }
    guard b[4] == 45, b[7] == 45, b[13] == 58, b[16] == 58, b[19] == 46,
        let y = number(0, 4), let m = number(5, 2), let d = number(8, 2), let hh = number(11, 2),
        let mm = number(14, 2), let ss = number(17, 2), let fraction = number(20, iso ? 3 : 6),
        (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 60
    else { return nil }
    let yy = m <= 2 ? y - 1 : y
    let era = yy / 400
    let yoe = yy - era * 400
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    return ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + fraction * (iso ? 1000 : 1)
}
