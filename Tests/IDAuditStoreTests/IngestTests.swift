import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditStore
import IDAuditTestSupport
import Testing

typealias F = ExportFixture

struct IngestTests {
    let dir: TemporaryDirectory
    let store: ProfileStore

    init() throws {
        dir = try TemporaryDirectory("ingest")
        store = try ProfileStore(path: dir.file("store.sqlite"))
    }

    /// Two profiles: A (with B merged into it) and C; email x moves from A to C and back.
    func basicExport() throws -> String {
        try F.write(
            in: dir, "basic",
            graph: [F.graph("use_A", "use_A", seq: 1), F.graph("use_B", "use_B", seq: 2), F.graph("use_B", "use_A", seq: 5),
                F.graph("use_C", "use_C", seq: 3)],
            mapping: [
                F.mapping("m1", "use_A", "user_id", "u1", day: 1, seq: 10),
                F.mapping("m2", "use_B", "email", "b@x.com", day: 2, seq: 20),
                F.mapping("m3", "use_C", "user_id", "u3", day: 3, seq: 30),
                F.mapping("m4", "use_A", "email", "gone@x.com", day: 4, seq: 40),
                F.mapping("m5", "use_A", "email", "gone@x.com", day: 5, seq: 50, removed: true),
            ])
    }

    @Test func storesRowsAndDerivesProfiles() throws {
        let report = try store.ingest(directory: try basicExport())
        #expect(report.graph == FileCounts(read: 4, stored: 4, duplicate: 0, rejected: 0))
        #expect(report.mapping == FileCounts(read: 5, stored: 5, duplicate: 0, rejected: 0))
        #expect(report.bulk)
        let stats = try store.statistics()
        #expect(stats.mappingRows == 5)
        #expect(stats.activeIdentifiers == 3)
        // b@x.com was seen on use_B, which merged into use_A.
        let b = try #require(try store.identifier(type: "email", value: "b@x.com"))
        #expect(b.canonicalID == "use_A")
        #expect(b.segmentID == "use_B")
        #expect(try store.mergeChain(from: "use_B") == ["use_B", "use_A"])
        #expect(try store.mergedSegments(into: "use_A") == ["use_B"])
        let gone = try #require(try store.identifier(type: "email", value: "gone@x.com"))
        #expect(!gone.active)
        #expect(gone.removedRows == 1)
        let profile = try #require(try store.profile(canonicalID: "use_A"))
        #expect(profile.identifiers.map(\.value) == ["b@x.com", "u1"])
    }

    @Test func ingestingTwiceStoresEachRowOnce() throws {
        let export = try basicExport()
        _ = try store.ingest(directory: export)
        let before = try store.statistics()
        let again = try store.ingest(directory: export)
        #expect(again.mapping == FileCounts(read: 5, stored: 0, duplicate: 5, rejected: 0))
        #expect(again.graph == FileCounts(read: 4, stored: 0, duplicate: 4, rejected: 0))
        #expect(!again.bulk)
        #expect(again.changedIdentifiers == 0)
        #expect(try store.statistics() == before)
    }

    @Test func anOverlappingExportAddsOnlyNewRows() throws {
        _ = try store.ingest(directory: try basicExport())
        let next = try F.write(
            in: dir, "next", graph: [F.graph("use_C", "use_C", seq: 3)],
            mapping: [
                F.mapping("m3", "use_C", "user_id", "u3", day: 3, seq: 30),  // overlap
                F.mapping("m6", "use_C", "email", "gone@x.com", day: 6, seq: 60),  // reintroduced on C
            ])
        let report = try store.ingest(directory: next)
        #expect(report.mapping == FileCounts(read: 2, stored: 1, duplicate: 1, rejected: 0))
        let gone = try #require(try store.identifier(type: "email", value: "gone@x.com"))
        #expect(gone.active)
        #expect(gone.canonicalID == "use_C")
        // first_seen restarts after the REMOVED row.
        #expect(gone.firstSeen == Instant(parsing: "2026-11-06 12:00:00"))
    }

    @Test func aMalformedRowStopsTheIngestAndLeavesTheStoreAsItWas() throws {
        _ = try store.ingest(directory: try basicExport())
        let before = try store.statistics()
        let bad = try F.write(
            in: dir, "bad", graph: [F.graph("use_D", "use_D", seq: 9)],
            mapping: [
                F.mapping("m7", "use_D", "user_id", "u7", day: 7, seq: 70),
                "m8,use_D,email,e@x.com,2026-11-08 12:00:00,2026-11-08 12:00:00,not-a-number,CREATED",
            ])
        do {
            _ = try store.ingest(directory: bad)
            Issue.record("expected an error")
        } catch let error as IngestError {
            #expect(error.code == .malformedRow)
            #expect(error.line == 3)
            #expect(error.file.hasSuffix("bad/external_id_mapping_updates.csv"))
            #expect(error.description.contains(":3: SEQ is not an integer: \"not-a-number\""))
        }
        #expect(try store.statistics() == before)
        #expect(try store.identifier(type: "user_id", value: "u7") == nil)
    }

    @Test(arguments: [
        ("m8,use_D,email,e@x.com,2026-11-08 12:00:00,2026-11-08 12:00:00,80", "expected 8 fields, found 7"),
        ("m8,use_D,email,e@x.com,2026-11-08,2026-11-08 12:00:00,80,CREATED", "TIMESTAMP is not a time: \"2026-11-08\""),
        ("m8,use_D,email,e@x.com,,,80,CREATED", "no time: TIMESTAMP and RECEIVED_AT are both empty"),
        ("m8,use_D,email,,2026-11-08 12:00:00,,80,CREATED", "EXTERNAL_ID_VALUE is empty"),
        ("m8,use_D,email,e@x.com,2026-11-08 12:00:00,,80,DELETED", "__OPERATION is \"DELETED\""),
        ("m8,,email,e@x.com,2026-11-08 12:00:00,,80,CREATED", "SEGMENT_ID is empty"),
    ])
    func eachKindOfBadRowIsNamed(row: String, message: String) throws {
        let bad = try F.write(in: dir, "bad", graph: [], mapping: [F.mapping("m1", "use_A", "user_id", "u", day: 1, seq: 1), row])
        #expect {
            _ = try store.ingest(directory: bad)
        } throws: { error in
            let text = "\(error)"
            return text.contains("external_id_mapping_updates.csv:3: ") && text.contains(message)
        }
        #expect(try store.statistics().mappingRows == 0)
    }

    @Test func rejectsKeepsTheGoodRowsAndWritesTheBadOnes() throws {
        let bad = try F.write(
            in: dir, "bad", graph: ["use_A,use_A,2026-11-01 00:00:00,x"],
            mapping: [
                F.mapping("m1", "use_A", "user_id", "u1", day: 1, seq: 10),
                "m2,use_A,email,e@x.com,2026-11-02 12:00:00,2026-11-02 12:00:00,20",
                F.mapping("m3", "use_A", "email", "ok@x.com", day: 3, seq: 30),
            ])
        let rejects = dir.file("rejects.csv")
        let report = try store.ingest(directory: bad, options: IngestOptions(rejectsPath: rejects))
        #expect(report.mapping == FileCounts(read: 3, stored: 2, duplicate: 0, rejected: 1))
        #expect(report.graph == FileCounts(read: 1, stored: 0, duplicate: 0, rejected: 1))
        let text = try dir.read("rejects.csv")
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "file,line,reason,record")
        #expect(text.contains("id_graph_updates.csv,2,\"SEQ is not an integer: \"\"x\"\"\",\"use_A,use_A"))
        #expect(text.contains("mapping_updates.csv,3,\"expected 8 fields, found 7\",\"m2,use_A,email"))
        #expect(try store.statistics().activeIdentifiers == 2)
    }

    @Test func readsHeadersInAnyCaseAndOrderWithQuotingAndCRLF() throws {
        try dir.write("q/id_graph_updates.csv", "extra,canonical_segment_id,Segment_Id,seq\r\nz,use_A,use_A,1\r\n")
        let mapping = [
            "seq,UNKNOWN_COLUMN,external_id_value,id,segment_id,external_id_type,received_at,timestamp",
            "10,\"x,y\",\"o'brien, \"\"jr\"\"@x.com\",m1,use_A,email,2026-11-01T10:00:00Z,",
            "20,,\"line\nbreak\",m2,use_A,custom,2026-11-02 10:00:00+00:00,2026-11-02 09:00:00.5",
        ].joined(separator: "\r\n")
        try dir.write("q/external_id_mapping_updates.csv", mapping + "\r\n")
        let report = try store.ingest(directory: dir.file("q"))
        #expect(report.mapping.stored == 2)
        let quoted = try #require(try store.identifier(type: "email", value: "o'brien, \"jr\"@x.com"))
        // TIMESTAMP empty (backfilled): RECEIVED_AT is used.
        #expect(quoted.firstSeen == Instant(parsing: "2026-11-01 10:00:00"))
        let multiline = try #require(try store.identifier(type: "custom", value: "line\nbreak"))
        #expect(multiline.firstSeen == Instant(parsing: "2026-11-02 09:00:00.5"))
    }

    @Test func aMissingColumnOrFileIsNamed() throws {
        try dir.write("m/id_graph_updates.csv", "SEGMENT_ID,CANONICAL_SEGMENT_ID,SEQ\n")
        try dir.write("m/external_id_mapping_updates.csv", "ID,SEGMENT_ID,EXTERNAL_ID_VALUE,SEQ,TIMESTAMP\n")
        #expect {
            _ = try store.ingest(directory: dir.file("m"))
        } throws: { "\($0)".contains("external_id_mapping_updates.csv:1: missing required column EXTERNAL_ID_TYPE") }
        #expect {
            _ = try store.ingest(directory: dir.file("nowhere"))
        } throws: { "\($0)".contains("no such folder") }
        try dir.write("n/id_graph_updates.csv", "SEGMENT_ID,CANONICAL_SEGMENT_ID,SEQ\n")
        #expect {
            _ = try store.ingest(directory: dir.file("n"))
        } throws: { "\($0)".contains("no external_id_mapping_updates.csv or external_id_mapping_updates.csv.gz") }
    }

    @Test func operationIsCaseInsensitiveAndOptional() throws {
        try dir.write("o/id_graph_updates.csv", "SEGMENT_ID,CANONICAL_SEGMENT_ID,SEQ\n")
        try dir.write(
            "o/external_id_mapping_updates.csv",
            "ID,SEGMENT_ID,EXTERNAL_ID_TYPE,EXTERNAL_ID_VALUE,RECEIVED_AT,SEQ,__operation\n"
                + "m1,use_A,email,a,2026-11-01 00:00:00,1,created\nm2,use_A,email,a,2026-11-02 00:00:00,2,Removed\n"
                + "m3,use_A,email,b,2026-11-02 00:00:00,3,\n")
        _ = try store.ingest(directory: dir.file("o"))
        #expect(try store.identifier(type: "email", value: "a")?.active == false)
        #expect(try store.identifier(type: "email", value: "b")?.active == true)
        try dir.write("p/id_graph_updates.csv", "SEGMENT_ID,CANONICAL_SEGMENT_ID,SEQ\n")
        try dir.write(
            "p/external_id_mapping_updates.csv",
            "ID,SEGMENT_ID,EXTERNAL_ID_TYPE,EXTERNAL_ID_VALUE,RECEIVED_AT,SEQ\nm9,use_Z,email,z,2026-11-01 00:00:00,1\n")
        _ = try store.ingest(directory: dir.file("p"))
        #expect(try store.identifier(type: "email", value: "z")?.active == true)
    }

    @Test func readsGzipExports() throws {
        let export = try basicExport()
        for name in ["id_graph_updates.csv", "external_id_mapping_updates.csv"] {
            let gzip = Process()
            gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
            gzip.arguments = [export + "/" + name]
            try gzip.run()
            gzip.waitUntilExit()
            #expect(gzip.terminationStatus == 0)
        }
        #expect(FileManager.default.fileExists(atPath: export + "/external_id_mapping_updates.csv.gz"))
        let report = try store.ingest(directory: export)
        #expect(report.mapping.stored == 5)
        #expect(report.graph.stored == 4)
    }

    @Test func aMergeCycleIsAnErrorAndChangesNothing() throws {
        _ = try store.ingest(directory: try basicExport())
        // use_A now points to use_B while use_B points to use_A.
        let cyclic = try F.write(in: dir, "cycle", graph: [F.graph("use_A", "use_B", seq: 9)], mapping: [])
        #expect {
            _ = try store.ingest(directory: cyclic)
        } throws: { error in
            guard let error = error as? IngestError else { return false }
            return error.code == .mergeCycle && error.message.contains("use_A") && error.message.contains("use_B")
        }
        #expect(try store.mergeChain(from: "use_B") == ["use_B", "use_A"])
    }
}

struct InterruptedIngestTests {
    @Test func runFilesOfAKilledIngestAreRemovedByTheNextOne() throws {
        let dir = try TemporaryDirectory("stale")
        // A process id that is certainly gone: a child that has exited and been waited for.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let stale = dir.file("store.sqlite.sort-\(child.processIdentifier)-mapping")
        try dir.write("store.sqlite.sort-\(child.processIdentifier)-mapping/run-0", "left by kill -9")
        let export = try F.write(
            in: dir, "e", graph: [], mapping: [F.mapping("m1", "use_A", "user_id", "u1", day: 1, seq: 1)])
        let store = try ProfileStore(path: dir.file("store.sqlite"))
        _ = try store.ingest(directory: export)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(try store.statistics().activeIdentifiers == 1)
    }
}

/// The store folds rows on raw bytes (fast); Core's `IdentifierHistory` states rule 2 plainly. They must agree, for
/// any rows in any order, loaded at once or in two ingests.
struct RuleTwoAgreementTests {
    @Test(arguments: 0..<8)
    func storeMatchesIdentifierHistory(seed: Int) throws {
        var rng = SplitMix(seed: UInt64(seed) &+ 1)
        let dir = try TemporaryDirectory("rule2")
        var rows: [MappingEvent] = []
        var lines: [String] = []
        for i in 0..<Int(rng.next() % 7 + 1) {
            let seq = Int(rng.next() % 5)  // few values: ties on SEQ are common
            let id = "m\(rng.next() % 1000)-\(i)"
            let segment = "use_\(rng.next() % 3)"
            let removed = rng.next() % 3 == 0
            let day = Int(rng.next() % 28) + 1
            rows.append(
                MappingEvent(
                    id: id, seq: Int64(seq), time: Instant(parsing: "2026-11-\(day < 10 ? "0" : "")\(day) 12:00:00")!,
                    segmentID: segment, operation: removed ? .removed : .created))
            lines.append(F.mapping(id, segment, "email", "x@y.com", day: day, seq: seq, removed: removed))
        }
        let expected = try #require(IdentifierHistory.state(of: rows))
        // All at once (bulk), and split in two ingests in reverse order (incremental).
        let half = lines.count / 2
        let layouts = [[lines], [Array(lines[half...]), Array(lines[..<half])]]
        for (n, parts) in layouts.enumerated() {
            let store = try ProfileStore(path: dir.file("s\(n).sqlite"))
            for (p, part) in parts.enumerated() where !part.isEmpty {
                _ = try store.ingest(directory: try F.write(in: dir, "e\(n)-\(p)", graph: [], mapping: part))
            }
            let record = try #require(try store.identifier(type: "email", value: "x@y.com"))
            #expect(record.active == expected.active, "layout \(n): \(rows)")
            #expect(record.segmentID == expected.segmentID, "layout \(n)")
            if expected.active { #expect(record.firstSeen == expected.firstSeen, "layout \(n)") }
            #expect(record.rows == rows.count)
        }
    }
}
