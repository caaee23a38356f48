import IDAuditCore
import Testing

/// Rule 2: an identifier is active iff its highest-SEQ row (ties by ID) is CREATED; first_seen is the time of the
/// first CREATED row after the last REMOVED row; it belongs to the segment of the highest row.
struct IdentifierHistoryTests {
    func row(_ id: String, _ seq: Int64, _ t: Int64, _ seg: String, _ op: MappingOperation = .created) -> MappingEvent {
        MappingEvent(id: id, seq: seq, time: Instant(seconds: t), segmentID: seg, operation: op)
    }

    @Test func neverRemovedTakesTheLowestSeqRowAndTheHighestRowsSegment() throws {
        let state = try #require(
            IdentifierHistory.state(of: [row("m2", 20, 200, "use_B"), row("m1", 10, 100, "use_A")]))
        #expect(state.active)
        #expect(state.firstSeen == Instant(seconds: 100))
        #expect(state.seq == 10)
        #expect(state.segmentID == "use_B")
    }

    @Test func removedLastIsInactive() throws {
        let state = try #require(
            IdentifierHistory.state(of: [row("m1", 10, 100, "use_A"), row("m2", 20, 200, "use_A", .removed)]))
        #expect(!state.active)
    }

    @Test func reintroductionStartsFirstSeenAfterTheLastRemoval() throws {
        // C10 R20 C30 C40: first CREATED after the last REMOVED is seq 30.
        let rows = [
            row("m4", 40, 400, "use_D"), row("m2", 20, 200, "use_A", .removed), row("m1", 10, 100, "use_A"),
            row("m3", 30, 300, "use_C"),
        ]
        let state = try #require(IdentifierHistory.state(of: rows))
        #expect(state.active)
        #expect(state.firstSeen == Instant(seconds: 300))
        #expect(state.seq == 30)
        #expect(state.segmentID == "use_D")
    }

    @Test func seqTiesAreBrokenByIDInByteOrder() throws {
        // Same SEQ: "a" (REMOVED) sorts before "b" (CREATED), so the identifier is active and first seen at b.
        let state = try #require(
            IdentifierHistory.state(of: [row("b", 10, 150, "use_B"), row("a", 10, 100, "use_A", .removed)]))
        #expect(state.active)
        #expect(state.firstSeen == Instant(seconds: 150))
        #expect(state.segmentID == "use_B")
        // Upper case sorts before lower case in byte order: "B" < "a".
        let other = try #require(
            IdentifierHistory.state(of: [row("a", 10, 150, "use_A", .removed), row("B", 10, 100, "use_B")]))
        #expect(!other.active)
    }

    @Test func removedThenNothingElseStaysInactiveAndNoRowsIsNil() {
        #expect(IdentifierHistory.state(of: [row("m1", 5, 50, "use_A", .removed)])?.active == false)
        #expect(IdentifierHistory.state(of: []) == nil)
    }

    @Test func foldingInOrderEqualsRecomputing() {
        let rows = [
            row("m1", 1, 10, "s1"), row("m2", 2, 20, "s1", .removed), row("m3", 3, 30, "s2"), row("m4", 4, 40, "s3"),
        ]
        var folded: IdentifierState?
        for r in rows { folded = IdentifierHistory.fold(folded, r) }
        #expect(folded == IdentifierHistory.state(of: rows.reversed()))
    }
}

/// Rule 1: parent = CANONICAL_SEGMENT_ID of the highest-SEQ row; follow parents until an id maps to itself or has
/// no row; a cycle is an input error that names the ids.
struct MergeGraphTests {
    @Test func followsChainsToTheRoot() throws {
        let graph = MergeGraph(parents: ["a": "b", "b": "c", "c": "c", "x": "c"])
        #expect(try graph.canonical(of: "a") == "c")
        #expect(try graph.canonical(of: "x") == "c")
        #expect(try graph.canonical(of: "c") == "c")
        #expect(try graph.canonical(of: "unknown") == "unknown")
        #expect(try graph.chain(from: "a") == ["a", "b", "c"])
        #expect(try graph.resolveAll() == ["a": "c", "b": "c", "x": "c"])
    }

    @Test func aCycleIsAnErrorNamingItsIDs() {
        let graph = MergeGraph(parents: ["a": "b", "b": "c", "c": "a", "z": "a"])
        #expect(throws: MergeCycleError.self) { try graph.resolveAll() }
        do {
            _ = try graph.canonical(of: "z")
            Issue.record("expected a cycle")
        } catch {
            #expect(Set(error.ids) == ["a", "b", "c"])
            #expect(error.description.contains("a -> b -> c -> a"))
        }
    }

    @Test func clearingAParentMakesARoot() throws {
        var graph = MergeGraph(parents: ["a": "b"])
        graph.setParent("a", of: "a")
        #expect(try graph.canonical(of: "a") == "a")
        #expect(graph.parents.isEmpty)
    }
}
