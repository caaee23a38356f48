import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditStore
import IDAuditTestSupport
import Testing

private typealias F = ExportFixture

/// Issue 4: verify tells confirmed deletions from identifiers that came back and those not yet reflected.
struct VerifyTests {
    @Test func classifiesEveryDoneLine() async throws {
        let f = try ApplyFixture("verify")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        _ = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        let plan = try f.plan()

        // Right after the apply, the emulator's REMOVED rows are in the store: all 4 confirmed.
        let first = try Verifier.verify(plan: plan, store: f.store, journals: [try f.journal()])
        #expect(first.confirmed == 4)
        #expect(first.cameBack.isEmpty)
        #expect(first.notYetReflected.isEmpty)

        // An event replay brings a@x.com back: a CREATED row after the REMOVED one.
        let replay = try F.write(
            in: f.dir, "replay", graph: [],
            mapping: ["r1,use_A,email,a@x.com,2099-01-01 00:00:00,2099-01-01 00:00:00,999,CREATED"])
        _ = try f.store.ingest(directory: replay)
        let second = try Verifier.verify(plan: plan, store: f.store, journals: [try f.journal()])
        #expect(second.confirmed == 3)
        #expect(second.cameBack.map(\.value) == ["a@x.com"])

        // A store that never received the REMOVED rows (the sync has not run yet): not yet reflected.
        let stale = try ProfileStore(path: f.dir.file("stale.sqlite"))
        _ = try stale.ingest(directory: f.dir.file("export"))
        let third = try Verifier.verify(plan: plan, store: stale, journals: [try f.journal()])
        #expect(third.confirmed == 0)
        #expect(third.notYetReflected.map(\.line) == [1, 2, 3, 5])
    }

    /// Third review: verify summed every Segment destination against one store (a rehearsal and the real space:
    /// more lines confirmed than the plan holds) and said nothing of the lines that were never deleted.
    @Test func oneDestinationIsVerifiedAndLinesNotDeletedAreCounted() async throws {
        let f = try ApplyFixture("verify-destinations")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        var options = ApplyFixture.fastOptions()
        options.maxDeletes = 3
        let capped = try await f.applySegment(endpoint: emulator.endpoint, space: "spa_a", options: options)
        _ = try await f.applySegment(endpoint: emulator.endpoint, space: "spa_b")
        try await emulator.stop()
        let plan = try f.plan()
        #expect {
            try Verifier.verify(plan: plan, store: f.store, journals: [try f.journal()])
        } throws: { "\($0)".contains("was applied to 2 Segment destinations") }
        let one = try Verifier.verify(
            plan: plan, store: f.store, journals: [try f.journal()], destination: capped.destination)
        #expect(one.destinations == [capped.destination])
        #expect(one.confirmed == 3)
        #expect(one.notSent == 1 && one.failed == 0)
    }
}
