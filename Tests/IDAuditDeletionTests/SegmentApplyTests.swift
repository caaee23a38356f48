import Foundation
import GRDB
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Issue 4: applying a plan to Segment through the emulator, over real HTTP on 127.0.0.1.
struct SegmentApplyTests {
    @Test func happyPathDeletesEveryRemediableLineAndAReScanIsClean() async throws {
        let f = try ApplyFixture("apply-happy")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let report = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()

        // 5 lines: 4 remediable deleted, x1@x.com skipped (use_C has no user_id).
        #expect(report.lines == 5)
        #expect(report.done == 4)
        #expect(report.alreadyAbsent == 0)
        #expect(report.skipped == 1)
        #expect(report.failed == 0)
        #expect(report.requests == 4)
        #expect(report.exitCode == 0)  // a line skipped by design (not remediable) is not an error
        #expect(report.skipReasons.keys.contains { $0.hasPrefix("not remediable") })
        let statistics = await emulator.emulator.statistics()
        #expect(statistics.segmentDeletions == 4)
        #expect(statistics.byStatus == [200: 4])

        // The emulator wrote REMOVED rows: the deleted identifiers are inactive and a re-scan leaves only use_C.
        #expect(try f.store.identifier(type: "email", value: "a@x.com")?.active == false)
        #expect(try f.store.identifier(type: "user_id", value: "u1")?.active == false)
        #expect(try f.store.identifier(type: "email", value: "null")?.active == false)
        #expect(try f.store.identifier(type: "email", value: "c@x.com")?.active == true)
        let rescan = try Scanner.run(
            store: f.store, rules: f.rules,
            options: ScanOptions(outDirectory: f.dir.file("rescan"), rulesPath: "rules.yaml"), now: ApplyFixture.now)
        #expect(rescan.remediableLines == 0)
        #expect(rescan.planLines == 1)
    }

    @Test func aSecondRunSendsNothingAgain() async throws {
        let f = try ApplyFixture("apply-resume")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        _ = try await f.applySegment(endpoint: emulator.endpoint)
        let again = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        #expect(again.doneEarlier == 4)
        #expect(again.requests == 0)
        #expect(await emulator.emulator.statistics().requests == 4)
        let plan = try f.plan()
        #expect(again.destination == "segment/\(emulator.endpoint)/spa_test")  // the whole endpoint, scheme included
        let attempts = try f.journal().successfulAttempts(plan: plan.sha256, destination: again.destination)
        #expect(attempts.values.allSatisfy { $0 == 1 })
        #expect(attempts.count == 4)
    }

    @Test func aRunInterruptedByTheCapResumesWithoutResending() async throws {
        let f = try ApplyFixture("apply-cap")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        var options = ApplyFixture.fastOptions()
        options.maxDeletes = 2
        let first = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        #expect(first.done == 2)
        #expect(first.notSent == 2)
        #expect(first.stopped?.contains("--max-deletes 2") == true)
        #expect(first.exitCode == 2)
        let second = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        #expect(second.doneEarlier == 2)
        #expect(second.done == 2)
        #expect(await emulator.emulator.statistics().segmentDeletions == 4)
        #expect(await emulator.emulator.statistics().requests == 4)
    }

    @Test func aLineInFlightWhenKilledIsSentAgainAndCountsAsAlreadyAbsent() async throws {
        let f = try ApplyFixture("apply-kill")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        _ = try await f.applySegment(endpoint: emulator.endpoint)
        // Simulate a kill -9 after line 1 was sent and deleted but before its answer was journaled.
        let plan = try f.plan()
        let journalPath = Journal.legacyPath(besideStore: f.store.path)
        try rewriteLineState(journalPath, plan: plan.sha256, line: 1, to: "sending")
        let resumed = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        #expect(resumed.requests == 1)
        #expect(resumed.done == 1)
        #expect(resumed.alreadyAbsent == 1)  // eid_not_found: it was already gone
        #expect(await emulator.emulator.statistics().segmentDeletions == 4)
    }

    @Test func a401StopsTheRunAtOnce() async throws {
        let f = try ApplyFixture("apply-401")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        var options = ApplyFixture.fastOptions()
        options.concurrency = 1
        let report = try await f.applySegment(endpoint: emulator.endpoint, token: "wrong", options: options)
        #expect(report.exitCode == 2)
        #expect(report.stopped?.contains("401 unauthorized: The specified token is invalid.") == true)
        #expect(report.requests == 1)
        #expect(report.done == 0)
        #expect(report.notSent == 4)  // the line answered 401 is not failed: it goes again with the right token
        #expect(report.failed == 0)
        #expect(report.stopped?.contains("(Request-Id emu-") == true)
        // The 401 was about the token, not the line: with the right token every line goes, none counts as failed.
        let fixed = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        #expect(fixed.done == 4)
        #expect(fixed.failed == 0)
        #expect(fixed.requests == 4)
    }

    @Test func aRehearsalAgainstAnotherEndpointIsJournaledApart() async throws {
        let f = try ApplyFixture("apply-rehearsal")
        let rehearsal = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let first = try await f.applySegment(endpoint: rehearsal.endpoint)
        try await rehearsal.stop()
        let other = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let second = try await f.applySegment(endpoint: other.endpoint)
        try await other.stop()
        // Same plan, same space, another host: nothing counts as done earlier, every line is sent again.
        #expect(first.destination != second.destination)
        #expect(second.doneEarlier == 0)
        #expect(second.requests == 4)
    }

    @Test func a403SpaceNotActivatedStopsTheRun() async throws {
        let f = try ApplyFixture("apply-403")
        var emulatorOptions = ApplyFixture.emulatorOptions()
        emulatorOptions.deactivatedSpaces = ["spa_off"]
        let emulator = try await RunningEmulator.start(store: f.store, options: emulatorOptions)
        var options = ApplyFixture.fastOptions()
        options.concurrency = 1
        let report = try await f.applySegment(endpoint: emulator.endpoint, space: "spa_off", options: options)
        try await emulator.stop()
        #expect(report.exitCode == 2)
        #expect(report.stopped?.contains("Deleted identifier not activated for space_id `spa_off`.") == true)
    }

    @Test func a429StormIsRiddenOutWithBackoff() async throws {
        let f = try ApplyFixture("apply-429")
        var emulatorOptions = ApplyFixture.emulatorOptions()
        // 2 requests/s with a burst of 2, against a client sending at 1,000/s: the last two lines meet 429s.
        emulatorOptions.segmentPerSpace = 2
        let emulator = try await RunningEmulator.start(store: f.store, options: emulatorOptions)
        var options = ApplyFixture.fastOptions()
        options.maxAttempts = 500
        let report = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        try await emulator.stop()
        #expect(report.done == 4)
        #expect(report.failed == 0)
        let statistics = await emulator.emulator.statistics()
        #expect(statistics.throttled > 0)
        #expect(report.throttled == statistics.throttled)
        #expect(statistics.segmentDeletions == 4)
        // No line was deleted twice.
        let plan = try f.plan()
        let successes = try f.journal().successfulAttempts(plan: plan.sha256, destination: report.destination)
        #expect(successes == [1: 1, 2: 1, 3: 1, 5: 1])
    }

    /// Third review: a destination that throttles every attempt (its budget spent elsewhere) turned line after line
    /// into `failed`, which only --retry-failed sends again, while the run crawled on. The first line throttled to its
    /// last attempt now stops the run; the lines stay pending for the next run.
    @Test func aLineThrottledToItsLastAttemptStopsTheRunAndStaysPending() async throws {
        let f = try ApplyFixture("apply-throttled-out")
        var emulatorOptions = ApplyFixture.emulatorOptions()
        emulatorOptions.throttleRate = 1
        let emulator = try await RunningEmulator.start(store: f.store, options: emulatorOptions)
        var options = ApplyFixture.fastOptions()
        options.maxAttempts = 3
        let report = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        try await emulator.stop()
        #expect(report.failed == 0 && report.done == 0)
        #expect(report.stopped?.contains("was throttled 3 times in a row") == true)
        #expect(report.throttled == report.requests)  // every answer, the last one included
        #expect(report.exitCode == 2)
        #expect(report.notSent == 4)
        let states = try f.journal().lineStates(plan: try f.plan().sha256, destination: report.destination)
        #expect(!states.values.contains { $0.state == .failed })
        #expect(try f.journal().uncertainLines(plan: try f.plan().sha256, destination: report.destination).isEmpty)
    }

    @Test func serverErrorsAreRetriedUntilTheyPass() async throws {
        let f = try ApplyFixture("apply-5xx")
        var emulatorOptions = ApplyFixture.emulatorOptions()
        emulatorOptions.failRate = 0.5
        emulatorOptions.seed = 7
        let emulator = try await RunningEmulator.start(store: f.store, options: emulatorOptions)
        var options = ApplyFixture.fastOptions()
        options.maxErrorRate = 1  // the breaker has its own test
        options.maxAttempts = 30
        let report = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        try await emulator.stop()
        let statistics = await emulator.emulator.statistics()
        #expect(report.done == 4)
        #expect(statistics.byStatus[500, default: 0] > 0)
        #expect(report.retried == statistics.byStatus[500, default: 0])
        #expect(statistics.segmentDeletions == 4)
    }

    @Test func theBreakerStopsARunThatKeepsFailing() async throws {
        let f = try ApplyFixture("apply-breaker")
        var emulatorOptions = ApplyFixture.emulatorOptions()
        emulatorOptions.failRate = 1
        let emulator = try await RunningEmulator.start(store: f.store, options: emulatorOptions)
        var options = ApplyFixture.fastOptions()
        options.maxAttempts = 100
        let report = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        try await emulator.stop()
        #expect(report.exitCode == 2)
        #expect(report.stopped?.hasPrefix("circuit breaker") == true)
        #expect(report.requests >= 50)
        #expect(report.requests < 60)
    }

    @Test func anUnreachableAPIFailsLinesAfterTheirAttempts() async throws {
        let f = try ApplyFixture("apply-unreachable")
        var options = ApplyFixture.fastOptions()
        options.maxAttempts = 2
        options.maxErrorRate = 1
        // Port 9 (discard) on loopback: connection refused.
        let report = try await f.applySegment(endpoint: "http://127.0.0.1:9", options: options, timeoutSeconds: 0.5)
        #expect(report.failed == 4)
        #expect(report.requests == 8)
        // Refused: never sent, so never in doubt.
        #expect(
            report.failures.allSatisfy {
                $0.failure.status == AttemptFailure.notSentStatus && $0.failure.message.hasPrefix("gave up after 2")
            })
        #expect(report.failedInDoubt == 0)
        #expect(report.exitCode == 1)
    }

    @Test func theCanaryStopsForReview() async throws {
        let f = try ApplyFixture("apply-canary")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        var options = ApplyFixture.fastOptions()
        options.canary = 1
        let first = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        #expect(first.done == 1)
        #expect(first.exitCode == 2)
        #expect(first.stopped?.hasPrefix("canary") == true)
        options.continueAfterCanary = true
        let second = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        try await emulator.stop()
        #expect(second.doneEarlier == 1)
        #expect(second.done == 3)
        #expect(second.stopped == nil)
    }

    /// The plan is read as it is sent, so the run cannot count its lines first: a canary as long as what is left to
    /// send ends the run, with nothing to review before going on; a cap counts what it left.
    @Test func aCanaryCoveringEveryLineLeftFinishesAndACapCountsWhatItLeft() async throws {
        let f = try ApplyFixture("apply-canary-all")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        var options = ApplyFixture.fastOptions()
        options.maxDeletes = 1
        let capped = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        #expect(capped.done == 1 && capped.notSent == 3)
        #expect(capped.stopped == "--max-deletes 1 reached")
        options.maxDeletes = nil
        options.canary = 3
        let rest = try await f.applySegment(endpoint: emulator.endpoint, options: options)
        try await emulator.stop()
        #expect(rest.doneEarlier == 1 && rest.done == 3 && rest.notSent == 0)
        #expect(rest.stopped == nil && rest.outcome == "finished" && rest.exitCode == 0)
        #expect(rest.canaryLines.count == 3)
    }
}

/// Rewrites a line's journal state, as a kill -9 between send and answer would leave it.
func rewriteLineState(_ path: String, plan: String, line: Int, to state: String) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in
        try db.execute(
            sql: "UPDATE lines SET state = ? WHERE plan_sha256 = ? AND line = ?", arguments: [state, plan, line])
        if state == "sending" {
            // As a kill -9 between send and record leaves it: the attempt has no answer.
            try db.execute(
                sql:
                    "UPDATE attempts SET outcome = NULL, status = NULL, finished_at = NULL WHERE plan_sha256 = ? AND line = ?",
                arguments: [plan, line])
        }
    }
}
