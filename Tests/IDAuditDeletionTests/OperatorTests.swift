import Foundation
import GRDB
import IDAuditCSV
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditStore
import IDAuditTestSupport
import Synchronization
import Testing

/// Issue 19, items 4, 5, 8 and 9: every wait bounded, one journal per destination, a run an operator can stop.
struct OperatorTests {
    // MARK: - Every wait is bounded

    /// A server that sends its headers, then one byte a second, used to hang the run for good: the deadline covers
    /// the body, and the line is a network error (it may have been carried out).
    @Test func aTricklingBodyIsCutAtTheDeadline() async throws {
        let f = try ApplyFixture("trickle")
        let (server, port) = try TrustTests.pythonServer(
            """
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            import time
            for _ in range(100):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(1)
            return
            """, requests: 1)
        defer { kill(server.processIdentifier, SIGKILL) }
        var options = ApplyFixture.fastOptions()
        options.maxAttempts = 1
        options.maxDeletes = 1
        options.timeoutSeconds = 1
        let started = ContinuousClock().now
        let report = try await ApplyEngine.run(
            plan: try f.plan(),
            target: SegmentTarget(
                space: "spa_test", baseURL: "http://127.0.0.1:\(port)", token: Secret(ApplyFixture.token)),
            journal: try f.journal(), options: options)
        // The server trickles for 100 s; the run ends at the 1 s deadline (1.2 s here when idle; the bound leaves room
        // for a loaded machine: 33 s once, with two builds and a test suite on two cores, still far from the 100 s a
        // run waiting for the body would take).
        #expect(ContinuousClock().now - started < .seconds(70))
        #expect(report.done == 0)
        #expect(report.failed == 1)
        let failure = try #require(report.failures.first?.failure)
        #expect(failure.code == "network")
        #expect(failure.message.contains("no complete answer within --timeout 1 s"))
        #expect(report.inDoubt == 0)  // answered (failed) in this run; the journal still marks it uncertain
        #expect(try f.journal().uncertainLines(plan: try f.plan().sha256, destination: report.destination).count == 1)
    }

    /// `--max-rps 1e300`, `--timeout 1e300` and a plan age of 200,000,000,000,000 days trapped (SIGILL); they are
    /// refused by validation, naming the option.
    @Test func outOfRangeNumbersAreRefused() {
        var cases: [(String, ApplyOptions)] = []
        var o = ApplyOptions()
        o.requestsPerSecond = 1e300
        cases.append(("--max-rps", o))
        o = ApplyOptions()
        o.requestsPerSecond = .nan
        cases.append(("--max-rps", o))
        o = ApplyOptions()
        o.requestsPerSecond = 1e-300  // the dry run's estimate trapped converting seconds to Int64
        cases.append(("--max-rps", o))
        o = ApplyOptions()
        o.timeoutSeconds = 0.0001  // every exchange would fail after it may have executed
        cases.append(("--timeout", o))
        o = ApplyOptions()
        o.timeoutSeconds = 1e300
        cases.append(("--timeout", o))
        o = ApplyOptions()
        o.timeoutSeconds = .infinity
        cases.append(("--timeout", o))
        o = ApplyOptions()
        o.concurrency = 1_000_000
        cases.append(("--concurrency", o))
        o = ApplyOptions()
        o.maxAttempts = Int.max
        cases.append(("--max-attempts", o))
        for (option, options) in cases {
            do {
                try options.validate()
                Issue.record("\(option): accepted")
            } catch {
                #expect(error.message.hasPrefix(option))
            }
        }
        #expect(throws: Never.self) { try ApplyOptions().validate() }
    }

    @Test func durationsBeyondTenYearsAreRefusedNotOverflowed() {
        #expect(parseDuration("200000000000000d") == nil)
        #expect(parseDuration("9223372036854775807s") == nil)
        #expect(parseDuration("3651d") == nil)
        #expect(parseDuration("3650d") == Int64(3650 * 86_400))
        #expect(parseDuration("36h") == Int64(36 * 3600))
        #expect(parseDuration("7") == Int64(7 * 86_400))
        #expect(parseDuration("-1d") == nil)
        #expect(parseDuration("d") == nil)
        #expect(parseDuration("٣d") == nil)  // digits of another script
    }

    /// SIGINT/SIGTERM: the CLI asks the run to stop; no new request leaves, the requests in flight are answered and
    /// journaled, the report says why and the exit code is 128 + the signal. Workers waiting for rate slots stop at
    /// once (they used to sleep through them: 4 s to wind down at 20 lines).
    ///
    /// The stop is asked for inside the run, as the third answer is read, so what is counted does not depend on how
    /// fast a loaded machine schedules a watcher (a watcher task, delayed 3.5 s on a loaded CI runner, saw 69
    /// requests "after" a stop it had not yet made). At 0.5 requests a second and 8 workers, the slots reach 16 s
    /// ahead: a run that slept through them would last that long after the stop.
    @Test func aStopRequestEndsTheRunPromptlyWithItsReport() async throws {
        let f = try ApplyFixture("stop-request")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let plan = try Self.longPlan(f, lines: 400)
        var options = ApplyFixture.fastOptions()
        options.requestsPerSecond = 0.5
        options.concurrency = 8
        // Every line after the first finds nothing (one identifier, repeated): the absent breaker must not stop the
        // run before the stop does.
        options.maxAbsentRate = 1
        let stop = StopRequest()
        options.stopRequest = stop
        let inner = SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        let target = StoppingTarget(inner: inner, stop: stop, afterAnswers: 3)
        let report = try await ApplyEngine.run(plan: plan, target: target, journal: try f.journal(), options: options)
        let ended = ContinuousClock().now
        try await emulator.stop()
        let stopInstant = try #require(target.stoppedAt)
        // A request leaves only through the gate a worker passes after its slot: at the stop, at most the other 7
        // workers are past it. At 0.5/s, one is.
        #expect(report.requests >= 3 && report.requests <= 3 + 7)
        #expect(ended - stopInstant < .seconds(8))
        #expect(report.stopped == "stopped by SIGTERM")
        #expect(report.outcome == "stopped")
        #expect(report.exitCode == 143)
        // Every request sent was answered and journaled: nothing is left `sending`, nothing in doubt.
        #expect(report.inDoubt == 0)
        let states = try f.journal().lineStates(plan: plan.sha256, destination: report.destination)
        #expect(!states.values.contains { $0.state == .sending })
        #expect(await emulator.emulator.statistics().requests == report.requests)
    }

    /// A Segment target that asks the run to stop as it reads its `afterAnswers`-th answer.
    private final class StoppingTarget: DeletionTarget, Sendable {
        let inner: SegmentTarget
        let stop: StopRequest
        let afterAnswers: Int
        private let state = Mutex<(answers: Int, stoppedAt: ContinuousClock.Instant?)>((0, nil))

        init(inner: SegmentTarget, stop: StopRequest, afterAnswers: Int) {
            self.inner = inner
            self.stop = stop
            self.afterAnswers = afterAnswers
        }

        var stoppedAt: ContinuousClock.Instant? { state.withLock { $0.stoppedAt } }
        var name: String { inner.name }
        var destination: String { inner.destination }
        var defaultRequestsPerSecond: Double { inner.defaultRequestsPerSecond }
        var perProfileRequestsPerSecond: Double? { inner.perProfileRequestsPerSecond }
        var secretValues: [String] { inner.secretValues }
        func makePreflight() -> (PlanEntry) -> String? { inner.makePreflight() }
        func prepare(_ entry: PlanEntry) -> Preparation { inner.prepare(entry) }
        func profileKey(_ entry: PlanEntry) -> String { inner.profileKey(entry) }

        func classify(_ response: WireResponse) -> AttemptResult {
            // Each answer is read twice (its meaning, then its words with secrets masked).
            state.withLock {
                $0.answers += 1
                if $0.answers >= afterAnswers * 2, $0.stoppedAt == nil {
                    $0.stoppedAt = ContinuousClock().now
                    stop.stop(reason: "stopped by SIGTERM", signal: SIGTERM)
                }
            }
            return inner.classify(response)
        }
    }

    /// Review of 2026-12-03: a run whose lines stop being readable (the private copy on a failing disk), or whose
    /// skips cannot be journaled (a full disk), after it sent some, threw: no report, exit 3 "could not start". It
    /// now stops, counts what it read and reports.
    @Test func aPlanThatStopsBeingReadableMidRunEndsInAReport() async throws {
        let f = try ApplyFixture("unreadable-mid-run")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let plan = FailingPlan(inner: try Self.longPlan(f, lines: 40), failAfter: 10)
        let target = SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        let report = try await ApplyEngine.run(
            plan: plan, target: target, journal: try f.journal(), options: ApplyFixture.fastOptions())
        try await emulator.stop()
        // Lines taken but not sent when the stop came stay not sent; the ten lines read are all counted.
        #expect((0...10).contains(report.requests))
        #expect(
            report.done + report.absentBeforeApply + report.failed + report.unconfirmed + report.skipped
                + report.notSent == 10)
        #expect(report.outcome == "stopped" && report.exitCode == 2)
        #expect(report.stopped?.contains("the plan's lines cannot be read") == true)
        #expect(report.stopped?.contains("the lines after line 10 were not counted") == true)
        #expect(report.inDoubt == 0)
    }

    /// A plan whose cursor fails after `failAfter` lines, as a read error of the private copy would.
    struct FailingPlan: PlanLines {
        var inner: PlanFile
        var failAfter: Int
        var path: String { inner.path }
        var sha256: String { inner.sha256 }
        var lineCount: Int { inner.lineCount }
        var stamp: PlanStamp? { inner.stamp }
        func cursor() throws(PlanFileError) -> any PlanCursor { Cursor(inner: inner.cursor(), left: failAfter) }

        final class Cursor: PlanCursor {
            let inner: any PlanCursor
            var left: Int
            init(inner: any PlanCursor, left: Int) {
                self.inner = inner
                self.left = left
            }
            func next() throws(PlanFileError) -> PlanEntry? {
                guard left > 0 else { throw PlanFileError(file: "plan.csv", line: 0, message: "read failed: EIO") }
                left -= 1
                return try inner.next()
            }
        }
    }

    /// A plan of `lines` lines, each deleting one of use_A's identifiers (the emulator answers not-found after the
    /// first, which is what the stop test needs: requests, not deletions).
    static func longPlan(_ f: ApplyFixture, lines: Int) throws -> PlanFile {
        let original = try String(contentsOfFile: f.planPath, encoding: .utf8)
        var rows = original.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let header = rows.removeFirst()
        let line = rows[0]
        let path = f.dir.file("plan/long-plan.csv")
        try ([header] + Array(repeating: line, count: lines)).joined(separator: "\n").appending("\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return try PlanFile.read(path: path)
    }

    // MARK: - One journal per destination

    /// Two runs with different `--store` values used to get two journals and send every line twice: the journal and
    /// the lock now belong to the destination, in the state folder.
    @Test func aSecondRunToTheSameDestinationIsRefusedWhateverItsStore() throws {
        let dir = try TemporaryDirectory("journal-home")
        let home = JournalHome(folder: dir.file("state"))
        let first = try home.claim(
            destination: "segment/https://x/spa_1", journal: nil, legacy: dir.file("a-journal.sqlite"), holder: "first")
        _ = try Journal(path: first.journal)
        try home.remember(first.journal, for: "segment/https://x/spa_1")
        #expect(first.journal.hasPrefix(dir.file("state/journals/")) || first.journal.contains("/state/journals/"))
        #expect(throws: JournalError.self) {
            _ = try home.claim(
                destination: "segment/https://x/spa_1", journal: nil, legacy: dir.file("b-journal.sqlite"),
                holder: "second")
        }
        // Another destination runs beside it.
        let other = try home.claim(destination: "segment/https://x/spa_2", journal: nil, legacy: nil, holder: "other")
        #expect(other.journal != first.journal)
        first.lock.release()
        other.lock.release()
        // Released: the next run gets the same journal, from any folder and any store.
        let again = try home.claim(destination: "segment/https://x/spa_1", journal: nil, legacy: nil, holder: "again")
        #expect(again.journal == first.journal)
        again.lock.release()
    }

    @Test func anotherJournalForAJournaledDestinationIsRefused() throws {
        let dir = try TemporaryDirectory("journal-home-other")
        let home = JournalHome(folder: dir.file("state"))
        let first = try home.claim(destination: "insider/https://x/p", journal: nil, legacy: nil, holder: "first")
        _ = try Journal(path: first.journal)
        try home.remember(first.journal, for: "insider/https://x/p")
        first.lock.release()
        do {
            _ = try home.claim(
                destination: "insider/https://x/p", journal: dir.file("mine.sqlite"), legacy: nil, holder: "2")
            Issue.record("a second journal was accepted")
        } catch {
            #expect(error.message.contains(first.journal))
            #expect(error.message.contains(dir.file("mine.sqlite")))
        }
        // The recorded journal passed explicitly is the same journal.
        let same = try home.claim(destination: "insider/https://x/p", journal: first.journal, legacy: nil, holder: "3")
        #expect(same.journal == first.journal)
    }

    /// An upgrade must not start a fresh journal while the old one (beside the store) holds this destination's runs.
    @Test func aLegacyJournalWithRunsMustBeNamed() async throws {
        let f = try ApplyFixture("journal-legacy")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let report = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        let home = JournalHome(folder: f.dir.file("state"))
        let legacy = Journal.legacyPath(besideStore: f.store.path)
        do {
            _ = try home.claim(destination: report.destination, journal: nil, legacy: legacy, holder: "upgrade")
            Issue.record("a fresh journal was started beside a legacy one")
        } catch {
            #expect(error.message.contains("--journal \(legacy)"))
        }
        // Nor may another journal be named in its place (review: a fresh --journal resent every done line).
        #expect(throws: JournalError.self) {
            _ = try home.claim(
                destination: report.destination, journal: f.dir.file("fresh.sqlite"), legacy: legacy, holder: "other")
        }
        let named = try home.claim(destination: report.destination, journal: legacy, legacy: legacy, holder: "named")
        try home.remember(named.journal, for: report.destination)
        named.lock.release()
        // Remembered: the next run without --journal uses it.
        let next = try home.claim(destination: report.destination, journal: nil, legacy: legacy, holder: "next")
        #expect(next.journal == JournalHomeTestPaths.real(legacy))
    }

    /// A recorded journal that is missing (an unmounted volume, a moved file) is refused, never silently replaced by
    /// a fresh one that would send every done line again.
    @Test func aMissingRecordedJournalIsRefused() throws {
        let dir = try TemporaryDirectory("journal-missing")
        let home = JournalHome(folder: dir.file("state"))
        try FileManager.default.createDirectory(atPath: dir.file("volume"), withIntermediateDirectories: true)
        let first = try home.claim(
            destination: "segment/https://x/s", journal: dir.file("volume/j.sqlite"), legacy: nil, holder: "1")
        _ = try Journal(path: first.journal)
        try home.remember(first.journal, for: "segment/https://x/s")
        first.lock.release()
        try FileManager.default.moveItem(atPath: dir.file("volume"), toPath: dir.file("unmounted"))
        do {
            _ = try home.claim(destination: "segment/https://x/s", journal: nil, legacy: nil, holder: "2")
            Issue.record("a missing journal was replaced by a fresh one")
        } catch {
            #expect(error.message.contains("missing"))
        }
    }

    /// A journal named through a symlinked folder is the same journal on every run (the first run recorded the
    /// unresolved path, the second was refused and told to pass the path it had passed).
    @Test func aJournalThroughASymlinkIsTheSameJournal() throws {
        let dir = try TemporaryDirectory("journal-symlink")
        let home = JournalHome(folder: dir.file("state"))
        try FileManager.default.createDirectory(atPath: dir.file("real"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link"), withDestinationPath: dir.file("real"))
        let first = try home.claim(
            destination: "segment/https://x/s", journal: dir.file("link/j.sqlite"), legacy: nil, holder: "1")
        _ = try Journal(path: first.journal)
        try home.remember(first.journal, for: "segment/https://x/s")
        first.lock.release()
        let second = try home.claim(
            destination: "segment/https://x/s", journal: dir.file("link/j.sqlite"), legacy: nil, holder: "2")
        #expect(second.journal == first.journal)
    }

    /// Runs under two state folders (sudo, cron, another HOME) used to get two journals and send every line twice:
    /// the plan's own record names the journal that applied it.
    @Test func aRunFromAnotherStateFolderIsRefused() async throws {
        let f = try ApplyFixture("two-state-folders")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let target = SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        func run(_ state: String) -> DeletionRun {
            DeletionRun(
                plan: try! f.plan(), target: target, home: JournalHome(folder: f.dir.file(state)), journal: nil,
                legacyJournal: nil, reportPath: f.dir.file("plan/apply-report.json"), command: "apply", warn: { _ in })
        }
        var options = ApplyFixture.fastOptions()
        options.maxDeletes = 2
        let first = try await run("state-a").run(options: options)
        for lock in first.locks { lock.release() }
        do {
            _ = try await run("state-b").run(options: ApplyFixture.fastOptions())
            Issue.record("a second state folder's journal was used")
        } catch let error as JournalError {
            #expect(error.message.contains(first.journal.path))
        }
        try await emulator.stop()
        #expect(await emulator.emulator.statistics().requests == 2)
    }

    /// Third review: `plan.csv.journal` held only the last destination, so a plan applied to Segment, then to
    /// Insider One, was applied to Segment again from another state folder (every done line sent twice); and two
    /// plans sharing lines, run at once from two state folders, shared no lock.
    @Test func everyDestinationOfAPlanIsRecordedAndOneRunPerDestinationRunsOnTheMachine() async throws {
        let f = try ApplyFixture("plan-record-destinations")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let segment = SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        let insider = try InsiderTarget(partner: "mybrand", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        func run(_ target: any DeletionTarget, _ state: String, plan: PlanFile? = nil) throws -> DeletionRun {
            DeletionRun(
                plan: try plan ?? f.plan(), target: target, home: JournalHome(folder: f.dir.file(state)),
                journal: nil, legacyJournal: nil, reportPath: f.dir.file("plan/apply-report.json"), command: "apply",
                warn: { _ in })
        }
        let first = try await run(segment, "state-a").run(options: ApplyFixture.fastOptions())
        for lock in first.locks { lock.release() }
        let second = try await run(insider, "state-a").run(options: ApplyFixture.fastOptions())
        for lock in second.locks { lock.release() }
        let record = try String(contentsOfFile: f.planPath + ".journal", encoding: .utf8)
        #expect(record.split(separator: "\n").count == 2)
        await #expect {
            _ = try await run(segment, "state-b").run(options: ApplyFixture.fastOptions())
        } throws: { ($0 as? JournalError)?.message.contains(first.journal.path) == true }
        // While a run holds the destination, a run of another plan from another state folder is refused.
        let long = try Self.longPlan(f, lines: 1)
        let holding = try await run(segment, "state-c", plan: long).run(options: ApplyFixture.fastOptions())
        // (Runs return holding their locks until the caller releases them: the machine's lock is among them.)
        await #expect {
            _ = try await run(segment, "state-d").run(options: ApplyFixture.fastOptions())
        } throws: { ($0 as? JournalError)?.message.contains("another idaudit run on this machine is sending to") == true }
        for lock in holding.locks { lock.release() }
        try await emulator.stop()
    }

    /// Fourth review: under umask 077 the machine's lock file was made private, and another user's run, unable to
    /// open it, went on with a warning and sent the same lines at once. Lock files are readable by every user.
    @Test func aLockFileIsReadableByEveryUserWhateverTheUmask() throws {
        let dir = try TemporaryDirectory("lock-umask")
        let previous = umask(0o077)
        let lock = try JournalLock.take(path: dir.file("x.lock"), holder: "test", busy: { $0 })
        umask(previous)
        defer { lock.release() }
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("x.lock"))
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
    }

    // MARK: - The run around the engine

    /// The report says `running` while a run goes (a killed run never leaves the previous report looking current);
    /// a report that cannot be written is a warning, never a lost run.
    @Test func anUnwritableReportIsAWarningAndTheRunStands() async throws {
        let f = try ApplyFixture("report-unwritable")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let target = SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        let warnings = Warnings()
        let run = DeletionRun(
            plan: try f.plan(), target: target, home: JournalHome(folder: f.dir.file("state")), journal: nil,
            legacyJournal: nil, reportPath: f.dir.file("no-such-folder/apply-report.json"), command: "apply",
            warn: { warnings.add($0) })
        let (report, journal, locks) = try await run.run(options: ApplyFixture.fastOptions())
        try await emulator.stop()
        for lock in locks { lock.release() }
        #expect(report.done == 4)
        #expect(report.exitCode == 0)
        #expect(warnings.all.contains { $0.contains("report could not be written") && $0.contains(journal.path) })
        #expect(journal.path.hasPrefix(f.dir.file("state")) || journal.path.contains("/state/journals/"))

        let running = DeletionRun(
            plan: try f.plan(), target: target, home: JournalHome(folder: f.dir.file("state")), journal: nil,
            legacyJournal: nil, reportPath: f.dir.file("plan/apply-report.json"), command: "apply", warn: { _ in })
        // A run that ends before the emulator answers: the marker is replaced by the final report.
        let again = try await running.run(options: ApplyFixture.fastOptions())
        for lock in again.locks { lock.release() }
        let text = try String(contentsOfFile: f.dir.file("plan/apply-report.json"), encoding: .utf8)
        #expect(text.contains("\"outcome\" : \"finished\""))
        #expect(again.report.doneEarlier == 4)
    }

    /// `--dry-run` reads the journal: a plan already done sends nothing.
    @Test func theSortOfADoneRunLeavesNothingToSend() async throws {
        let f = try ApplyFixture("dry-run-journal")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let report = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.stop()
        let target = SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret("dry-run"))
        var sent: [Int] = []
        let before = try ApplyEngine.linesToSend(
            plan: try f.plan(), target: target, journal: nil, options: ApplyOptions()
        ) { sent.append($0.line) }
        #expect(before.sendable == 4 && sent.count == 4)
        sent = []
        let after = try ApplyEngine.linesToSend(
            plan: try f.plan(), target: target, journal: try f.journal(), options: ApplyOptions()
        ) { sent.append($0.line) }
        #expect(sent.isEmpty && after.sendable == 0)
        #expect(after.doneEarlier == 4)
        #expect(report.done == 4)
    }

    /// Duplicate lines used to be approved silently, the second copy then reported "not there".
    @Test func aPlanNamingAnIdentifierTwiceIsNotApproved() throws {
        let f = try ApplyFixture("duplicates")
        let original = try String(contentsOfFile: f.planPath, encoding: .utf8)
        var rows = original.split(separator: "\n").map(String.init)
        rows.append(rows[1])  // line 1 again, as line 6
        let path = f.dir.file("plan/dup-plan.csv")
        try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let plan = try PlanFile.read(path: path)
        var finder = DuplicateFinder()
        for entry in plan.entries { finder.add(entry) }
        #expect(finder.repeated.map(\.line) == [6])
        #expect(finder.repeated.map(\.first) == [1])
        do {
            _ = try Approval.approve(
                plan: plan, for: ApplyFixture.segmentDestination(endpoint: "http://127.0.0.1:9"), by: "dana",
                at: ApplyFixture.now)
            Issue.record("a plan with a repeated line was approved")
        } catch {
            #expect("\(error)".contains("line 6 repeats line 1"))
            #expect(!"\(error)".contains("a@x.com"))  // lines and types, never values
        }
        #expect(!FileManager.default.fileExists(atPath: Approval.path(forPlan: path)))
    }

    /// The canary stops for review: the lines it sent are listed, with what each became, in canary.csv.
    @Test func theCanaryListsTheLinesItSent() async throws {
        let f = try ApplyFixture("canary-csv")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let target = SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        var options = ApplyFixture.fastOptions()
        options.canary = 2
        let run = DeletionRun(
            plan: try f.plan(), target: target, home: JournalHome(folder: f.dir.file("state")), journal: nil,
            legacyJournal: nil, reportPath: f.dir.file("plan/apply-report.json"), command: "apply", warn: { _ in })
        let (report, _, locks) = try await run.run(options: options)
        for lock in locks { lock.release() }
        try await emulator.stop()
        #expect(report.canaryLines == [1, 2])
        #expect(report.exitCode == 2)
        let csv = try String(contentsOfFile: run.canaryPath, encoding: .utf8)
        #expect(run.canaryPath == f.dir.file("plan/canary.csv"))
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines.first == "line,segment_id,type,value,state,answer")
        #expect(lines.count == 3)
        #expect(lines[1] == "1,use_A,email,a@x.com,done,deleted")
        #expect(lines[2] == "2,use_A,email,b@x.com,done,deleted")
    }

    /// A plan.csv.lock planted as a symlink in a shared folder used to be followed, and its target truncated.
    @Test func aSymlinkedPlanLockIsRefusedAndItsTargetUntouched() async throws {
        let f = try ApplyFixture("lock-symlink")
        let victim = f.dir.file("victim")
        try "important\n".write(toFile: victim, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: f.planPath + ".lock", withDestinationPath: victim)
        let target = SegmentTarget(space: "spa_test", baseURL: "http://127.0.0.1:9", token: Secret(ApplyFixture.token))
        let run = DeletionRun(
            plan: try f.plan(), target: target, home: JournalHome(folder: f.dir.file("state")), journal: nil,
            legacyJournal: nil, reportPath: f.dir.file("plan/apply-report.json"), command: "apply", warn: { _ in })
        do {
            _ = try await run.run(options: ApplyFixture.fastOptions())
            Issue.record("a symlinked lock file was used")
        } catch let error as JournalError {
            #expect(error.message.contains("symbolic link"))
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "important\n")
    }

    /// Item 10: approve reads the plan once in constant memory; what it approves is what a whole read gives.
    @Test func aStreamedApprovalEqualsAWholeReadsAndRefusesRepeats() throws {
        let f = try ApplyFixture("stream-approve")
        let whole = try f.plan()
        let destination = ApplyFixture.segmentDestination(endpoint: "http://127.0.0.1:9")
        let streamed = try Approval.approve(planAt: f.planPath, for: destination, by: "dana", at: ApplyFixture.now)
        #expect(streamed.planSHA256 == whole.sha256)
        #expect(streamed.lines == whole.entries.count)
        #expect(streamed.remediable == whole.entries.count { $0.remediable })
        #expect(streamed.planCreatedAt == whole.stamp?.generatedAt.description)
        var seen = 0
        let summary = try PlanFile.stream(path: f.planPath) { _ in seen += 1 }
        #expect(summary.sha256 == whole.sha256)
        #expect(seen == 5)
        // A repeated line is refused by the streamed approval too.
        let original = try String(contentsOfFile: f.planPath, encoding: .utf8)
        let path = f.dir.file("plan/dup.csv")
        let rows = original.split(separator: "\n").map(String.init)
        try ((rows + [rows[2]]).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PlanFileError.self) {
            _ = try Approval.approve(planAt: path, for: destination, by: "dana", at: ApplyFixture.now)
        }
    }

    // MARK: - Erase

    /// Erase approvals used to never expire: a file without a stamp ages from its approval.
    @Test func anOldEraseApprovalIsRefused() throws {
        let dir = try TemporaryDirectory("erase-age")
        let path = dir.file("users.jsonl")
        try #"{"identifiers":{"email":"a@x.com"},"whole":["name"]}"#.appending("\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let (sha, users) = try EraseFile.read(path: path)
        let destination = InsiderAttributeTarget.destination(
            partner: "mybrand", baseURL: "https://unification.useinsider.com")
        let approvedAt = Instant(parsing: "2026-11-01 00:00:00")!
        _ = try Approval.approveErase(
            path: path, sha256: sha, users: users.count, for: destination, by: "dana", at: approvedAt)
        let week = Int64(7 * 86_400)
        _ = try Approval.check(
            path: path, sha256: sha, stamp: nil, destination: destination,
            now: Instant(parsing: "2026-11-07 00:00:00")!, maxAgeSeconds: week)
        do {
            _ = try Approval.check(
                path: path, sha256: sha, stamp: nil, destination: destination,
                now: Instant(parsing: "2026-11-09 00:00:00")!, maxAgeSeconds: week)
            Issue.record("an approval older than a week was accepted")
        } catch {
            #expect(error.message.contains("--max-approval-age"))
        }
    }
}

/// Warnings a run printed, gathered for a test.
final class Warnings: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ text: String) { lock.withLock { items.append(text) } }
    var all: [String] { lock.withLock { items } }
}

enum JournalHomeTestPaths {
    static func real(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }
}
