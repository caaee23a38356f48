import IDAuditCore

#if canImport(Glibc)
    import Glibc
#endif

/// Applies a plan to one destination: the machinery every adapter shares.
///
/// Lines go out through a ``Pacer`` (the destination's budget and the per-profile budget), with enough requests in
/// flight to reach the budget when each takes seconds. Every attempt is journaled before and after it is sent.
/// 429, 5xx and network errors are retried with exponential backoff and jitter (honouring `Retry-After`), up to
/// ``ApplyOptions/maxAttempts``. 401 and 403 stop the run at once; so does the circuit breaker, the cap on
/// deletions, and a canary awaiting review.
package final class ApplyEngine: Sendable {
    private let plan: any PlanLines
    private let target: any DeletionTarget
    private let transport: HTTPTransport
    private let journal: Journal
    private let options: ApplyOptions

    /// An engine for one plan and one destination.
    package init(
        plan: any PlanLines, target: any DeletionTarget, transport: HTTPTransport, journal: Journal,
        options: ApplyOptions
    ) {
        self.plan = plan
        self.target = target
        self.transport = transport
        self.journal = journal
        self.options = options
    }

    /// Applies `plan` over a transport of its own, sized for the run and closed when it ends.
    ///
    /// - Parameter heldLock: the journal's lock when the caller holds it already (to keep it until it has written
    ///   what follows the run); nil: the run takes it and releases it when it ends.
    package static func run(
        plan: any PlanLines, target: any DeletionTarget, journal: Journal, options: ApplyOptions,
        heldLock: JournalLock? = nil
    ) async throws -> ApplyReport {
        let rate = options.requestsPerSecond ?? target.defaultRequestsPerSecond
        return try await HTTPTransport.with(
            connections: options.concurrency ?? min(1024, max(8, Int(rate * 4))), timeoutSeconds: options.timeoutSeconds
        ) { transport in
            try await ApplyEngine(plan: plan, target: target, transport: transport, journal: journal, options: options)
                .run(heldLock: heldLock)
        }
    }

    /// The code of a line throttled to its last attempt (a stop, not a failure).
    static let throttledOut = "throttled_out"

    /// The requests per second this run uses.
    package var requestsPerSecond: Double { options.requestsPerSecond ?? target.defaultRequestsPerSecond }

    /// Runs the plan: sends every line not yet done, and returns what happened.
    ///
    /// - Throws: ``ApplyOptionsError`` for options that make no sense, ``JournalError`` when another run holds the
    ///   journal: both before anything is sent or written.
    package func run(heldLock: JournalLock? = nil) async throws -> ApplyReport {
        try options.validate()
        let started = WallClock.now()
        let startedMonotonic = ContinuousClock().now
        let destination = target.destination
        let lock =
            heldLock == nil
            ? try journal.lock(holder: "started \(started), plan \(plan.sha256.prefix(12)) to \(destination)") : nil
        defer { lock?.release() }
        // Lines an earlier attempt may have carried out without its answer being recorded (not a line merely left
        // `sending` by a 401, 403 or 429: those answers say nothing was done).
        let uncertain = try journal.uncertainLines(plan: plan.sha256, destination: destination)
        let feed = try Self.feed(plan: plan, target: target, journal: journal, options: options, recording: true)
        // Lines earlier runs settled, for the progress line's estimate of what is left (the plan is read as sent).
        let earlier = try journal.stateCounts(plan: plan.sha256, destination: destination)
        let settledStates: [LineState.State] =
            [.done, .absentBeforeApply] + (options.retryFailed ? [] : [.failed])
            + (options.retryUnconfirmed ? [] : [.unconfirmed])
        let settled = settledStates.reduce(0) { sum, state in sum + (earlier[state] ?? 0) }
        let run = try await journal.startRun(plan: plan.sha256, destination: destination, at: started)

        var stopped: String?
        let state = RunState(
            window: ErrorWindow(size: ApplyOptions.breakerWindow), maxErrorRate: options.maxErrorRate,
            maxAbsentRate: options.maxAbsentRate, uncertain: uncertain, stopRequest: options.stopRequest)
        let pacer = Pacer(requestsPerSecond: requestsPerSecond, perProfile: target.perProfileRequestsPerSecond)
        let concurrency = options.concurrency ?? min(1024, max(8, Int(requestsPerSecond * 4)))
        let lineCount = plan.lineCount

        let cap = options.maxDeletes ?? .max
        let progressTask = options.progress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    let tally = feed.tally
                    report(
                        await state.progress(
                            planLeft: lineCount - settled - tally.skipped, cap: cap, skippedBefore: tally.skipped))
                }
            }
        }
        defer { progressTask?.cancel() }

        // A canary first (the first lines sent, then a review), then the rest; --max-deletes caps both.
        var phases = [cap]
        if let canary = options.canary {
            // A canary no shorter than the cap is the whole run: its lines are still listed for review.
            if canary < cap { phases = [canary, cap] }
            feed.keepTakenLines(canary)
        }
        for (index, limit) in phases.enumerated() {
            if index == 1 {
                // The canary is sent: go on only when it went cleanly and the user said so.
                if let reason = await state.stopReason() {
                    stopped = reason
                    break
                }
                // No line after the canary: the run is done, with nothing to review before going on.
                if try !feed.hasMore() { break }
                let clean = await state.isClean()
                if !clean {
                    stopped =
                        "canary: some of the first \(options.canary ?? 0) lines failed, were unconfirmed or found "
                        + "nothing to delete; "
                        + "review them before going on"
                    break
                }
                if !options.continueAfterCanary {
                    stopped = "canary: \(options.canary ?? 0) lines sent; review them, then run again (or pass --yes)"
                    break
                }
            }
            feed.setLimit(limit)
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        await self.worker(run: run, state: state, pacer: pacer, feed: feed)
                        return false
                    }
                }
                // On a stop, the workers waiting for a rate slot or a backoff are cancelled at once (an attempt in
                // flight is not: it runs in a task of its own, see `attempt`).
                group.addTask {
                    while !Task.isCancelled, await !state.isStopped() {
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    return true
                }
                var running = concurrency
                while let watcher = await group.next() {
                    if watcher { group.cancelAll() } else { running -= 1 }
                    if running == 0 { group.cancelAll() }
                }
            }
            if let reason = await state.stopReason() {
                stopped = reason
                break
            }
        }
        // The lines not read yet are sorted too, for the counts (and their skips journaled). Lines were sent: a
        // failure here (a full disk) still ends in a report, which says the counts stop where the reading did.
        do {
            try feed.drain()
        } catch {
            let read = feed.tally.read
            stopped =
                (stopped.map { $0 + "; " } ?? "")
                + (read >= lineCount
                    ? "the last lines' skips could not be journaled (\(error))"
                    : "the lines after line \(read) were not counted (\(error)): not_sent counts only the lines before")
        }
        let tally = feed.tally
        if stopped == nil, tally.sendable > tally.taken, let cap = options.maxDeletes {
            stopped = "--max-deletes \(cap) reached"
        }
        progressTask?.cancel()

        let finished = WallClock.now()
        let elapsed = ContinuousClock().now - startedMonotonic
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let counts = await state.counts()
        var skipReasons = tally.skipReasons
        for reason in counts.skipReasons { skipReasons[reason, default: 0] += 1 }
        let failures = tally.failedEarlier + counts.failures
        let absent = tally.absentEarlier + counts.absentBeforeApply
        let unconfirmed = tally.unconfirmedEarlier + counts.unconfirmed
        let failedCount = tally.failedEarlierCount + counts.failures.count
        let absentCount = tally.absentEarlierCount + counts.absentBeforeApply.count
        let unconfirmedCount = tally.unconfirmedEarlierCount + counts.unconfirmed.count
        let skipped = tally.skipped + counts.skipReasons.count
        if stopped == nil, let reason = options.stopRequest?.reason { stopped = reason }
        let exitCode: Int32 =
            if let signal = options.stopRequest?.signal { 128 + signal } else if stopped != nil { 2 } else {
                // Skips are by design (not remediable, group_id, sole identifier, the type map) and listed: not an
                // error, or a clean run would break `set -e`.
                failedCount == 0 && absentCount == 0 && unconfirmedCount == 0 ? 0 : 1
            }
        var report = ApplyReport(
            plan: plan.path, planSHA256: plan.sha256, target: target.name, destination: destination,
            outcome: stopped == nil ? "finished" : "stopped", journal: journal.path,
            startedAt: started.description, finishedAt: finished.description, seconds: seconds,
            lines: lineCount, done: counts.done, alreadyAbsent: counts.alreadyAbsent,
            doneEarlier: tally.doneEarlier,
            absentBeforeApply: absentCount, skipped: skipped, failed: failedCount, failedInDoubt: tally.failedEarlierInDoubt + counts.failedInDoubt,
            unconfirmed: unconfirmedCount,
            notSent: tally.sendable - counts.done - counts.failures.count - counts.skipReasons.count
                - counts.absentBeforeApply.count - counts.unconfirmed.count,
            inDoubt: await state.inDoubtCount(),
            requests: counts.requests, throttled: counts.throttled, retried: counts.retried,
            requestsPerSecond: counts.sendingSeconds > 0 ? Double(counts.requests) / counts.sendingSeconds : 0,
            rateDecreases: await pacer.decreases, lowestRate: await pacer.lowestRate,
            stopped: stopped, skipReasons: skipReasons, failures: Array(failures.prefix(1000)),
            absentLines: Array(absent.prefix(1000)), unconfirmedLines: Array(unconfirmed.prefix(1000)),
            canaryLines: options.canary == nil ? [] : feed.takenLines, exitCode: exitCode)
        do {
            try await journal.finishRun(run, outcome: report.outcome, report: report.json, at: finished)
        } catch {
            // The journal holds every attempt; only the run's end is missing. The report still says what happened.
            report.stopped = (report.stopped.map { $0 + "; " } ?? "") + "the journal could not record the run's end (\(error))"
            report.outcome = "stopped"
            if report.exitCode < 2 { report.exitCode = 2 }
        }
        return report
    }

    /// A feed of `plan`'s lines to send, sorted by `journal`'s states (none: a plan never run), its skips journaled
    /// when `recording`.
    static func feed(
        plan: any PlanLines, target: any DeletionTarget, journal: Journal?, options: ApplyOptions, recording: Bool
    ) throws -> LineFeed {
        let sha = plan.sha256
        let destination = target.destination
        let states: @Sendable (ClosedRange<Int>) throws -> [Int: LineState] = { lines in
            guard let journal else { return [:] }
            return try journal.lineStates(plan: sha, destination: destination, lines: lines)
        }
        var record: (@Sendable ([(line: Int, reason: String)]) throws -> Void)?
        if recording, let journal {
            record = { skips in
                try journal.recordSkips(plan: sha, destination: destination, skips, at: WallClock.now())
            }
        }
        return try LineFeed(plan: plan, target: target, options: options, states: states, recordSkips: record)
    }

    /// The lines a run would send now, in plan order, with what `journal` (nil: none) recorded; nothing is written.
    /// One place for `apply --dry-run` and tests.
    @discardableResult
    package static func linesToSend(
        plan: any PlanLines, target: any DeletionTarget, journal: Journal?, options: ApplyOptions,
        visit: (PlanEntry) -> Void
    ) throws -> PlanTally {
        let feed = try feed(plan: plan, target: target, journal: journal, options: options, recording: false)
        try feed.drain(visit: visit)
        return feed.tally
    }

    /// One of the concurrent senders: takes lines until none are left or the run stops.
    private func worker(run: Int64, state: RunState, pacer: Pacer, feed: LineFeed) async {
        var random = SystemRandomNumberGenerator()
        let backoff = Backoff(base: options.backoffBaseSeconds, cap: options.backoffCapSeconds)
        while await !state.isStopped() {
            let entry: PlanEntry
            do {
                guard let next = try feed.next() else { break }
                entry = next
            } catch {
                // The plan's private copy or the journal cannot be read: stop rather than guess.
                await state.stop("the plan's lines cannot be read, or their skips journaled: \(error)")
                break
            }
            // Sorted as sent, so prepared as sent again: adapters are pure.
            guard case .send(let request) = target.prepare(entry) else { continue }
            var attempt = 0
            while true {
                attempt += 1
                if await state.isStopped() { break }
                do {
                    try await pacer.wait(profile: target.profileKey(entry))
                } catch {
                    break
                }
                // Slots are handed out seconds ahead: a stop (401, 403, breaker) may have come while this one waited.
                if await state.isStopped() { break }
                // Its own task, not a child of the worker: a stop cancels the worker's waits, never a request between
                // its journaling and its answer's.
                let result = await Task { [attempt] in
                    await self.attempt(
                        entry: entry, request: request, attempt: attempt, run: run, state: state, pacer: pacer)
                }.value
                guard let result else { break }
                await state.record(result, entry: entry)
                guard case .retry(let failure, let after) = result else { break }
                let delay = backoff.delay(
                    afterAttempt: attempt, retryAfter: after, throttled: failure.isThrottle, random: &random)
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
            }
        }
    }

    /// Sends one attempt of a line, journaled before and after; nil when the journal cannot be written (the run is
    /// then stopped).
    private func attempt(
        entry: PlanEntry, request: WireRequest, attempt: Int, run: Int64, state: RunState, pacer: Pacer
    ) async -> AttemptResult? {
        let redactor = Redactor(secrets: target.secretValues)
        var result: AttemptResult
        do {
            let id = try await journal.beginAttempt(
                run: run, plan: plan.sha256, destination: target.destination, line: entry.line, covers: entry.covers,
                attempt: attempt, at: WallClock.now())
            await state.sent()
            do {
                // What the answer means is read from the answer as it came (a partner named `user` must not turn
                // "no such user" into another outcome); what it says, from the answer with every secret masked in
                // the whole body before anything reads or cuts it, so no part of one reaches the journal or report.
                let response = try await transport.send(request)
                let meaning = Self.confirmed(target.classify(response), response)
                let told = Self.confirmed(target.classify(redactor.redact(response)), response)
                result = await state.settle(meaning.told(by: told), lines: [entry.line] + entry.covers)
            } catch let error as TransportNotSent {
                // No connection was made: the line was not sent, and is not in doubt.
                result = .retry(
                    AttemptFailure(
                        status: AttemptFailure.notSentStatus, code: "not_sent", message: "\(error)", requestID: ""),
                    after: nil)
            } catch {
                result = .retry(
                    AttemptFailure(status: 0, code: "network", message: "\(error)", requestID: ""), after: nil)
            }
            result = result.redacted(redactor)
            switch result {
            case .retry(let failure, _) where failure.isThrottle: await pacer.throttled()
            case .retry: break  // 5xx and network errors say nothing about the budget
            default: await pacer.answered()
            }
            if case .retry(let failure, _) = result, failure.status == 0 || failure.status >= 500 {
                // The request may have been carried out: a not-found on the next attempt is ours.
                await state.markUncertain([entry.line] + entry.covers)
            }
            if case .unconfirmed = result { await state.markUncertain([entry.line] + entry.covers) }
            if case .retry(let failure, _) = result, attempt >= options.maxAttempts {
                var last = failure
                if failure.isThrottle {
                    // Throttled to the last attempt: nothing of the line was carried out, and the budget is spent
                    // elsewhere (Insider One's attribute budget is shared with Upsert) or lower than this pace. The
                    // run stops; the line stays pending for the next run, not failed (which --retry-failed needs).
                    last.code = Self.throttledOut
                    last.message =
                        "line \(entry.line) was throttled \(attempt) times in a row (\(failure.status)): the "
                        + "destination's budget is spent elsewhere or lower than this run's pace; the lines not done "
                        + "are sent by the next run (lower --max-rps or --max-rpm)"
                    result = .stop(last)
                } else {
                    last.message = "gave up after \(attempt) attempts; last answer: " + failure.message
                    result = .failed(last)
                }
            }
            do {
                try await journal.finishAttempt(
                    id, plan: plan.sha256, destination: target.destination, line: entry.line, covers: entry.covers,
                    result: result, at: WallClock.now())
            } catch {
                // Sent and answered, but the answer is not in the journal (a full disk): the line stays `sending`
                // there, and the report counts it in doubt, not as never sent.
                await state.markUncertain([entry.line] + entry.covers)
                await state.stop("the journal cannot be written: \(error)")
                return nil
            }
        } catch {
            // The journal cannot be written: stop rather than send what cannot be recorded.
            await state.stop("the journal cannot be written: \(error)")
            return nil
        }
        return result
    }
}

extension ApplyEngine {
    /// `result`, unless it is a deletion read from a body that was cut (over ``HTTPTransport/maxBodyBytes``): the
    /// bytes after the cut are unread, so the answer is no documented success, only a 2xx that may have deleted.
    static func confirmed(_ result: AttemptResult, _ response: WireResponse) -> AttemptResult {
        guard response.cut, case .done = result else { return result }
        return JSONBody.unconfirmed(
            response, requestID: response.header("Request-Id") ?? response.header("X-Request-Id") ?? "",
            "a \(response.status) whose body is over \(HTTPTransport.maxBodyBytes / 1024) KiB (cut, unread): not the "
                + "documented success")
    }
}

/// The shared state of one run's workers: the counts, the breaker, and why it stopped.
actor RunState {
    private var stopReasonText: String?
    private var window: ErrorWindow
    private let maxErrorRate: Double
    private var firstSend: ContinuousClock.Instant?
    private var lastAnswer: ContinuousClock.Instant?
    private var recent: [(ContinuousClock.Instant, Int)] = []
    private let maxAbsentRate: Double
    private var uncertain: Set<Int>
    private var answers = 0
    private var inDoubt = Set<Int>()

    struct Counts {
        var done = 0
        var alreadyAbsent = 0
        var requests = 0
        var throttled = 0
        var retried = 0
        var sendingSeconds = 0.0
        var failures: [ApplyReport.FailedLine] = []
        var failedInDoubt = 0
        var absentBeforeApply: [ApplyReport.FailedLine] = []
        var unconfirmed: [ApplyReport.FailedLine] = []
        var skipReasons: [String] = []
    }

    private var c = Counts()
    private var finished = 0

    private let stopRequest: StopRequest?

    init(
        window: ErrorWindow, maxErrorRate: Double, maxAbsentRate: Double, uncertain: Set<Int>,
        stopRequest: StopRequest?
    ) {
        self.stopRequest = stopRequest
        self.window = window
        self.maxErrorRate = maxErrorRate
        self.maxAbsentRate = maxAbsentRate
        self.uncertain = uncertain
    }

    /// What a not-found answer means for a request carrying `lines`: done when an earlier attempt of ours may have
    /// deleted them (in flight at a crash, a network error or a 5xx), else absent before the apply. (A request's
    /// lines are all uncertain or none: an erase groups its users so.)
    func settle(_ result: AttemptResult, lines: [Int]) -> AttemptResult {
        guard case .notFound(let failure) = result else { return result }
        return lines.allSatisfy(uncertain.contains) ? .done(alreadyAbsent: true) : .absentBeforeApply(failure)
    }

    /// Marks the lines of a request that may have been carried out without an answer.
    func markUncertain(_ lines: [Int]) {
        uncertain.formUnion(lines)
        inDoubt.insert(lines[0])
    }

    /// Lines whose last attempt in this run may have been carried out, with no final answer since.
    func inDoubtCount() -> Int { inDoubt.count }

    func sent() {
        let now = ContinuousClock().now
        if firstSend == nil { firstSend = now }
        c.requests += 1
        recent.append((now, c.requests))
        if recent.count > 64, let first = recent.first, now - first.0 > .seconds(5) {
            recent.removeFirst(recent.count / 2)
        }
    }

    func record(_ result: AttemptResult, entry: PlanEntry) {
        lastAnswer = ContinuousClock().now
        if case .retry = result {} else if case .stop = result {} else { inDoubt.remove(entry.line) }
        switch result {
        case .done(let absent):
            c.done += 1
            if absent { c.alreadyAbsent += 1 }
            finished += 1
            window.add(error: false)
        case .skipped(let reason):
            c.skipReasons.append(reason)
            finished += 1
            window.add(error: false)
        case .absentBeforeApply(let failure), .notFound(let failure):
            c.absentBeforeApply.append(ApplyReport.FailedLine(line: entry.line, type: entry.type, failure: failure))
            finished += 1
            window.add(error: false)
        case .retry(let failure, _):
            c.retried += 1
            if failure.isThrottle {
                c.throttled += 1
            } else {
                window.add(error: true)
            }
        case .failed(let failure):
            c.failures.append(ApplyReport.FailedLine(line: entry.line, type: entry.type, failure: failure))
            // An attempt of ours (this run or an earlier one) got no answer, a 5xx or an unconfirmed 2xx: perhaps
            // carried out (the journal's `uncertain`, which the next run counts the same way).
            if uncertain.contains(entry.line) { c.failedInDoubt += 1 }
            finished += 1
            window.add(error: true)
        case .unconfirmed(let failure):
            // Not a deletion, and an error to the breaker and the canary: a run of 2xx nobody can read stops.
            c.unconfirmed.append(ApplyReport.FailedLine(line: entry.line, type: entry.type, failure: failure))
            finished += 1
            window.add(error: true)
        case .stop(let failure) where failure.code == ApplyEngine.throttledOut:
            c.throttled += 1  // its last answer was a throttle too
            stop(failure.message)
        case .stop(let failure):
            // About the token or the space, not the line: the line stays pending (counted not sent) for the next run.
            stop("\(failure.summary): this is about the token or the space, not the line")
        }
        if case .retry = result {} else { answers += 1 }
        // Only lines no attempt of ours can have deleted: after a kill -9, the lines in flight answer not-found by
        // the dozen, and that is our own deletion, not a plan that misses the destination.
        let absent = c.absentBeforeApply.count
        if stopReasonText == nil, answers >= ApplyOptions.absentMinimum,
            Double(absent) > maxAbsentRate * Double(answers)
        {
            stop(
                "\(absent) of the first \(answers) lines were not there before this run deleted anything (more than "
                    + "\(Int((maxAbsentRate * 100).rounded()))%): the plan does not match this destination (a "
                    + "stale plan, another space, a wrong type map); scan again against the current data")
        }
        if stopReasonText == nil, window.count >= ApplyOptions.breakerMinimum, window.rate > maxErrorRate {
            stop(
                "circuit breaker: \(window.errors) of the last \(window.count) attempts failed or were unconfirmed "
                    + "(more than \(Int((maxErrorRate * 100).rounded()))%)")
        }
    }

    func stop(_ reason: String) {
        if stopReasonText == nil { stopReasonText = reason }
    }

    func isStopped() -> Bool {
        if stopReasonText == nil, let reason = stopRequest?.reason { stopReasonText = reason }
        return stopReasonText != nil
    }

    func stopReason() -> String? {
        _ = isStopped()
        return stopReasonText
    }
    func isClean() -> Bool { c.failures.isEmpty && c.absentBeforeApply.isEmpty && c.unconfirmed.isEmpty }

    func counts() -> Counts {
        var out = c
        if let firstSend, let lastAnswer {
            let d = lastAnswer - firstSend
            out.sendingSeconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        return out
    }

    /// Where the run is. `planLeft`: the plan's lines not settled before this run nor skipped so far (the plan is
    /// read as it is sent: an estimate); `cap`: the lines --max-deletes lets the run send; `skippedBefore`: lines
    /// skipped before sending.
    func progress(planLeft: Int, cap: Int, skippedBefore: Int) -> ApplyProgress {
        var rate = 0.0
        if let first = recent.first, let last = recent.last, last.0 > first.0 {
            let d = last.0 - first.0
            rate = Double(last.1 - first.1) / (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        let left = max(0, min(planLeft, cap) - finished)
        var progress = ApplyProgress(
            done: c.done, failed: c.failures.count, skipped: skippedBefore + c.skipReasons.count, left: left, rate: rate,
            etaSeconds: rate > 0 ? Double(left) / rate : nil)
        progress.unconfirmed = c.unconfirmed.count
        return progress
    }
}

/// Wall-clock time, for the journal and reports.
enum WallClock {
    static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Instant(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }
}
