import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
import Testing

private typealias F = ExportFixture

/// Issue 5: an identifier an earlier apply deleted, active again after an event replay, is reintroduced.
struct ReintroducedTests {
    func scan(_ f: ApplyFixture, _ name: String, at day: Int) throws -> ScanRun {
        try #require(try Scanner.run(
            store: f.store, rules: f.rules, options: ScanOptions(outDirectory: f.dir.file(name), rulesPath: "rules.yaml"),
            now: Instant(parsing: "2099-02-\(day < 10 ? "0" : "")\(day) 00:00:00")!
        ).run)
    }

    func applyAndReplay(_ f: ApplyFixture) async throws {
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let report = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        try AppliedDeletions.record(
            plan: try f.plan(), journal: try f.journal(), destination: report.destination, store: f.store,
            at: Instant(parsing: "2099-01-01 00:00:00")!)
    }

    func replayNull(_ f: ApplyFixture) throws {
        // The replay re-adds email "null" to use_D: blocked, so in excess again whatever its age.
        let replay = try F.write(
            in: f.dir, "replay", graph: [],
            mapping: ["r1,use_D,email,null,2099-01-15 00:00:00,2099-01-15 00:00:00,999,CREATED"])
        _ = try f.store.ingest(directory: replay)
    }

    @Test func replayedAfterApplyWithNoScanBetween() async throws {
        // Run 1 (the fixture's scan): excess a@x.com, b@x.com, u1, x1@x.com, null.
        let f = try ApplyFixture("reintroduced-direct")
        try await applyAndReplay(f)
        try replayNull(f)
        let run = try scan(f, "scan2", at: 1)
        // Now: x1@x.com (persisting), null (deleted, back: reintroduced, not persisting); a, b, u1 resolved.
        #expect(run.excess == 2)
        #expect(run.persisting == 1)
        #expect(run.new == 0)
        #expect(run.reintroduced == 1)
        #expect(run.resolved == 3)
        #expect(run.reintroducedIdentifiers == [ExcessIdentifier(type: "email", value: "null")])
        let summary = try f.dir.read("scan2/summary.json")
        #expect(summary.contains("\"reintroduced\": 1"))
        let plan = try f.dir.read("scan2/plan.json")
        #expect(plan.contains(#""reintroduced":[{"type":"email","value":"null"}]"#))
    }

    @Test func replayedAfterACleanScan() async throws {
        let f = try ApplyFixture("reintroduced-later")
        try await applyAndReplay(f)
        let clean = try scan(f, "scan2", at: 1)
        #expect(clean.excess == 1)
        #expect(clean.resolved == 4)
        #expect(clean.reintroduced == 0)
        try replayNull(f)
        let run = try scan(f, "scan3", at: 2)
        // null is not new against run 2: it is reintroduced.
        #expect(run.excess == 2)
        #expect(run.new == 0)
        #expect(run.persisting == 1)
        #expect(run.reintroduced == 1)
        #expect(run.resolved == 0)
        #expect(try f.store.runs().last?.reintroduced == 1)
    }
}
