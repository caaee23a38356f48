import Foundation
import IDAuditCore
import IDAuditStore
import IDAuditTestSupport
import Testing

/// The same rows must give the same store whatever order they arrive in, in one export or split across several,
/// and ids are compared as bytes.
struct IngestOrderTests {
    /// Every order of `rows`, each loaded at once (bulk) and split in two ingests at every cut (incremental).
    static func layouts(_ rows: [String]) -> [[[String]]] {
        func permutations(_ items: [String]) -> [[String]] {
            guard items.count > 1 else { return [items] }
            return items.indices.flatMap { i in
                var rest = items
                let first = rest.remove(at: i)
                return permutations(rest).map { [first] + $0 }
            }
        }
        return permutations(rows).flatMap { order in
            [[order]] + (1..<order.count).map { cut in [Array(order[..<cut]), Array(order[cut...])] }
        }
    }

    /// The same bytes (String's == equates NFC and NFD).
    func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    @Test func aMappingRowIDDeliveredWithOtherContentsKeepsTheGreatestRowInEveryOrder() throws {
        let dir = try TemporaryDirectory("order")
        let rows = [
            F.mapping("m1", "use_A", "email", "x@y.com", day: 1, seq: 10),
            F.mapping("m1", "use_A", "email", "x@y.com", day: 1, seq: 10, removed: true),  // REMOVED over CREATED
            F.mapping("m1", "use_B", "email", "x@y.com", day: 1, seq: 10, removed: true),  // greater segment id
        ]
        let other = F.mapping("m2", "use_A", "email", "x@y.com", day: 2, seq: 12)
        for (n, layout) in Self.layouts(rows).enumerated() {
            let store = try ProfileStore(path: dir.file("s\(n).sqlite"))
            for (p, part) in layout.enumerated() {
                _ = try store.ingest(
                    directory: try F.write(in: dir, "e\(n)-\(p)", graph: [], mapping: p == 0 ? part + [other] : part))
            }
            let record = try #require(try store.identifier(type: "email", value: "x@y.com"))
            #expect(record.history.map(\.id) == ["m1", "m2"], "layout \(layout)")
            #expect(record.history.map(\.removed) == [true, false], "layout \(layout)")
            #expect(record.history.map(\.segmentID) == ["use_B", "use_A"], "layout \(layout)")
            #expect(record.active)
            #expect(record.firstSeen == Instant(parsing: "2026-11-02 12:00:00"), "layout \(layout)")
        }
    }

    @Test func aHigherSEQWinsOverEveryOtherDifferenceAndTheCountsSaySo() throws {
        let dir = try TemporaryDirectory("order")
        let store = try ProfileStore(path: dir.file("s.sqlite"))
        let low = F.mapping("m1", "use_B", "email", "x@y.com", day: 9, seq: 10, removed: true)
        let high = F.mapping("m1", "use_A", "email", "x@y.com", day: 1, seq: 11)
        _ = try store.ingest(directory: try F.write(in: dir, "a", graph: [], mapping: [low]))
        let replaced = try store.ingest(directory: try F.write(in: dir, "b", graph: [], mapping: [high]))
        #expect(replaced.mapping == FileCounts(read: 1, stored: 1, duplicate: 0, rejected: 0))
        #expect(replaced.changedIdentifiers == 1)
        let again = try store.ingest(directory: try F.write(in: dir, "c", graph: [], mapping: [low, high]))
        #expect(again.mapping == FileCounts(read: 2, stored: 0, duplicate: 2, rejected: 0))
        #expect(again.changedIdentifiers == 0)
        let record = try #require(try store.identifier(type: "email", value: "x@y.com"))
        #expect(record.active)
        #expect(record.rows == 1)
        #expect(record.history.first?.seq == 11)
    }

    @Test func aGraphRowKeyDeliveredWithAnotherCanonicalIDKeepsTheGreatestInEveryOrder() throws {
        let dir = try TemporaryDirectory("order")
        let rows = [
            F.graph("use_B", "use_A", seq: 5),
            F.graph("use_B", "use_C", seq: 5),  // the greater canonical id: kept
            "use_B,use_A,2026-11-02 00:00:00,5",  // a later TIMESTAMP does not beat a greater canonical id
        ]
        let roots = [F.graph("use_A", "use_A", seq: 1), F.graph("use_C", "use_C", seq: 2)]
        let mapping = [F.mapping("m1", "use_B", "email", "b@x.com", day: 1, seq: 10)]
        for (n, layout) in Self.layouts(rows).enumerated() {
            let store = try ProfileStore(path: dir.file("s\(n).sqlite"))
            for (p, part) in layout.enumerated() {
                _ = try store.ingest(
                    directory: try F.write(
                        in: dir, "e\(n)-\(p)", graph: p == 0 ? roots + part : part, mapping: p == 0 ? mapping : []))
            }
            #expect(try store.canonicalID(ofSegment: "use_B") == "use_C", "layout \(layout)")
            #expect(try store.identifier(type: "email", value: "b@x.com")?.canonicalID == "use_C", "layout \(layout)")
            #expect(try store.statistics().graphRows == 3)
        }
    }

    @Test(arguments: [false, true])
    func segmentIDsThatDifferOnlyInNormalizationAreTwoProfiles(incremental: Bool) throws {
        let dir = try TemporaryDirectory("nfc")
        let store = try ProfileStore(path: dir.file("s.sqlite"))
        let nfc = "use_\u{E9}"
        let nfd = "use_e\u{301}"
        let graph = [F.graph("use_A", "use_A", seq: 1), F.graph(nfc, "use_A", seq: 2), F.graph(nfd, nfd, seq: 3)]
        let mapping = [
            F.mapping("m1", "use_A", "user_id", "u1", day: 1, seq: 10),
            F.mapping("m2", nfc, "email", "e1", day: 2, seq: 20),
            F.mapping("m3", nfd, "email", "e2", day: 3, seq: 30),
            F.mapping("m4", nfd, "user_id", "u2", day: 4, seq: 40),
        ]
        if incremental {
            // The store is not empty, and the merge arrives after the rows it moves.
            _ = try store.ingest(directory: try F.write(in: dir, "a", graph: [graph[2]], mapping: mapping))
            _ = try store.ingest(directory: try F.write(in: dir, "b", graph: Array(graph[..<2]), mapping: []))
        } else {
            _ = try store.ingest(directory: try F.write(in: dir, "a", graph: graph, mapping: mapping))
        }
        let merged = try #require(try store.profile(canonicalID: "use_A"))
        #expect(merged.identifiers.map(\.value).sorted() == ["e1", "u1"])
        let own = try #require(try store.profile(canonicalID: nfd))
        #expect(own.identifiers.map(\.value).sorted() == ["e2", "u2"])
        #expect(same(try store.canonicalID(ofSegment: nfd), nfd))
        #expect(try store.mergedSegments(into: "use_A").map { Array($0.utf8) } == [Array(nfc.utf8)])
        #expect(same(try #require(try store.identifier(type: "email", value: "e2")).canonicalID, nfd))
    }

    // MARK: - Messages

    @Test func aMergeCycleNamesTheFileAndTheSameCycleOnEveryRun() throws {
        let dir = try TemporaryDirectory("cycle")
        let graph = [
            F.graph("use_Y", "use_X", seq: 2), F.graph("use_X", "use_Y", seq: 3),
            F.graph("use_B", "use_A", seq: 4), F.graph("use_A", "use_B", seq: 5),
        ]
        for n in 0..<4 {
            let store = try ProfileStore(path: dir.file("s\(n).sqlite"))
            let export = try F.write(in: dir, "e\(n)", graph: n % 2 == 0 ? graph : graph.reversed(), mapping: [])
            #expect {
                _ = try store.ingest(directory: export)
            } throws: { error in
                "\(error)" == export + "/id_graph_updates.csv: merge cycle: use_A -> use_B -> use_A (each id's "
                    + "highest-SEQ row points to the next; no canonical profile can be chosen)"
            }
        }
    }

    @Test func aCycleClosedByALaterExportNamesItsFile() throws {
        let dir = try TemporaryDirectory("cycle")
        let store = try ProfileStore(path: dir.file("s.sqlite"))
        _ = try store.ingest(
            directory: try F.write(
                in: dir, "a", graph: [F.graph("use_B", "use_A", seq: 5), F.graph("use_D", "use_C", seq: 5)],
                mapping: []))
        let closing = try F.write(
            in: dir, "b", graph: [F.graph("use_C", "use_D", seq: 9), F.graph("use_A", "use_B", seq: 9)], mapping: [])
        #expect {
            _ = try store.ingest(directory: closing)
        } throws: { error in
            "\(error)" == closing + "/id_graph_updates.csv: merge cycle: use_A -> use_B -> use_A (each id's "
                + "highest-SEQ row points to the next; no canonical profile can be chosen)"
        }
        #expect(try store.mergeChain(from: "use_B") == ["use_B", "use_A"])
    }

    @Test(arguments: [
        ("id_graph_updates.csv", "use_A,use_A,2026-11-01 00:00:00,9223372036854775808", "id_graph_updates.csv:2: ",
         "SEQ is out of range: \"9223372036854775808\" (larger than 9223372036854775807)"),
        ("id_graph_updates.csv", "use_A,use_A,2026-11-01 00:00:00,-9223372036854775809", "id_graph_updates.csv:2: ",
         "SEQ is out of range: \"-9223372036854775809\" (smaller than -9223372036854775808)"),
        ("external_id_mapping_updates.csv", "m1,use_A,email,e,2026-11-01 00:00:00,,99999999999999999999,CREATED",
         "external_id_mapping_updates.csv:2: ",
         "SEQ is out of range: \"99999999999999999999\" (larger than 9223372036854775807)"),
        ("external_id_mapping_updates.csv", "m1,use_A,email,e,2026-11-01 00:00:00,,1e3,CREATED",
         "external_id_mapping_updates.csv:2: ", "SEQ is not an integer: \"1e3\""),
    ])
    func aSEQBeyond64BitsIsOutOfRange(file: String, row: String, place: String, message: String) throws {
        let dir = try TemporaryDirectory("range")
        let store = try ProfileStore(path: dir.file("s.sqlite"))
        let export = try F.write(
            in: dir, "e", graph: file.hasPrefix("id_graph") ? [row] : [],
            mapping: file.hasPrefix("id_graph") ? [] : [row])
        #expect {
            _ = try store.ingest(directory: export)
        } throws: { error in
            "\(error)" == export + "/" + place + message
        }
    }

    @Test func theSmallestSEQIsInRange() throws {
        let dir = try TemporaryDirectory("range")
        let store = try ProfileStore(path: dir.file("s.sqlite"))
        _ = try store.ingest(
            directory: try F.write(
                in: dir, "e", graph: [],
                mapping: ["m1,use_A,email,e,2026-11-01 00:00:00,,-9223372036854775808,CREATED"]))
        #expect(try store.identifier(type: "email", value: "e")?.history.first?.seq == Int64.min)
    }
}
