import Foundation
import IDAuditCore
import IDAuditStore
import IDAuditTestSupport
import Testing

/// The same rows must give the same store whatever order they arrive in, in one export or split across several,
/// and ids are compared as bytes.
struct IngestOrderTests {
    /// The same bytes (String's == equates NFC and NFD).
    func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

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
}
