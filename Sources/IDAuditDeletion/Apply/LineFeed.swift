import IDAuditCore
import Synchronization

/// How a plan's lines were sorted by a run (or a dry run): what was settled earlier, skipped, to send.
package struct PlanTally: Sendable {
    /// Lines done in earlier runs.
    package var doneEarlier = 0
    /// Lines not sent, by design, by why.
    package var skipReasons: [String: Int] = [:]
    /// Lines not sent, by design.
    package var skipped = 0
    /// Lines an earlier run found not there, failed or left unconfirmed, not sent again: the first 1,000 of each,
    /// and how many.
    package var absentEarlier: [ApplyReport.FailedLine] = []
    package var absentEarlierCount = 0
    package var failedEarlier: [ApplyReport.FailedLine] = []
    package var failedEarlierCount = 0
    /// Of those failed earlier, the lines given up on after no answer or a 5xx (perhaps carried out).
    package var failedEarlierInDoubt = 0
    package var unconfirmedEarlier: [ApplyReport.FailedLine] = []
    package var unconfirmedEarlierCount = 0
    /// Lines to send, sent or not.
    package var sendable = 0
    /// Lines handed to workers.
    package var taken = 0
    /// Lines read from the plan.
    package var read = 0
}

/// Hands a run's workers the lines to send, in plan order, reading the plan as they are taken: a 1 M-line plan is
/// never held, and the first request leaves as soon as the plan is checked.
///
/// Each line read is sorted by what the journal says of it (read a chunk of lines at a time) and by the target's
/// checks: done earlier, not there, unconfirmed or failed earlier (sent again only with `--retry-*`), skipped (the
/// reason journaled), or to send. One place for `apply`, `apply --dry-run` and `erase`.
final class LineFeed: Sendable {
    private struct State {
        var cursor: any PlanCursor
        var preflight: (PlanEntry) -> String?
        var chunk: [Int: LineState] = [:]
        var chunkRange: ClosedRange<Int>?
        /// A line to send read ahead by ``hasMore()``.
        var pending: PlanEntry?
        var skips: [(line: Int, reason: String)] = []
        var limit: Int = .max
        var ended = false
        var tally = PlanTally()
        var taken: [Int] = []
        var keepTaken = 0
    }

    /// Lines of journal state read at once.
    static let chunkLines = 4096
    /// Skips written to the journal at once.
    static let skipBatch = 1024

    private let state: Mutex<State>
    private let target: any DeletionTarget
    private let options: ApplyOptions
    private let states: @Sendable (ClosedRange<Int>) throws -> [Int: LineState]
    private let recordSkips: (@Sendable ([(line: Int, reason: String)]) throws -> Void)?

    /// A feed over `plan`'s lines.
    ///
    /// - Parameters:
    ///   - states: the journal's states of a range of lines.
    ///   - recordSkips: journals lines not sent (nil: a dry run records nothing).
    init(
        plan: any PlanLines, target: any DeletionTarget, options: ApplyOptions,
        states: @escaping @Sendable (ClosedRange<Int>) throws -> [Int: LineState],
        recordSkips: (@Sendable ([(line: Int, reason: String)]) throws -> Void)?
    ) throws(PlanFileError) {
        let cursor = try plan.cursor()
        state = Mutex(State(cursor: cursor, preflight: target.makePreflight()))
        self.target = target
        self.options = options
        self.states = states
        self.recordSkips = recordSkips
    }

    /// At most `limit` lines are handed out in all (a canary, `--max-deletes`); the lines after stay unread.
    func setLimit(_ limit: Int) { state.withLock { $0.limit = limit } }

    /// Keeps the numbers of the first `count` lines handed out (the canary's).
    func keepTakenLines(_ count: Int) { state.withLock { $0.keepTaken = count } }

    /// The lines kept by ``keepTakenLines(_:)``.
    var takenLines: [Int] { state.withLock { $0.taken } }

    /// What was sorted so far.
    var tally: PlanTally { state.withLock { $0.tally } }

    /// The next line to send, or nil when the plan is done or the limit is reached.
    func next() throws -> PlanEntry? {
        try state.withLock { s throws -> PlanEntry? in
            guard s.tally.taken < s.limit else { return nil }
            let next = s.pending
            s.pending = nil
            guard let entry = try next ?? sortNext(&s) else { return nil }
            s.tally.taken += 1
            if s.taken.count < s.keepTaken { s.taken.append(entry.line) }
            return entry
        }
    }

    /// Sorts the lines left without handing any out (for the report's counts after a stop or a cap), and writes the
    /// skips still held to the journal.
    func drain(visit: (PlanEntry) -> Void = { _ in }) throws {
        try state.withLock { s throws in
            if let pending = s.pending { visit(pending) }
            s.pending = nil
            while let entry = try sortNext(&s) { visit(entry) }
            try flushSkips(&s)
        }
    }

    /// Whether a line is left to send (read ahead, and handed out next).
    func hasMore() throws -> Bool {
        try state.withLock { s throws -> Bool in
            if s.pending == nil { s.pending = try sortNext(&s) }
            return s.pending != nil
        }
    }

    /// Writes the skips held to the journal.
    func flush() throws { try state.withLock { s throws in try flushSkips(&s) } }

    /// Reads lines until one is to be sent; nil at the end of the plan.
    private func sortNext(_ s: inout State) throws -> PlanEntry? {
        while !s.ended {
            guard let entry = try s.cursor.next() else {
                s.ended = true
                try flushSkips(&s)
                return nil
            }
            s.tally.read += 1
            // Every line goes through the target's check, sent earlier or not, as when the whole plan was checked
            // first (Insider One counts a profile's identifiers down line by line).
            let preflight = s.preflight(entry)
            if s.chunkRange.map({ !$0.contains(entry.line) }) ?? true {
                let range = entry.line...(entry.line + Self.chunkLines - 1)
                s.chunk = try states(range)
                s.chunkRange = range
            }
            let earlier = s.chunk[entry.line]
            switch earlier?.state {
            case .done:
                s.tally.doneEarlier += 1
                continue
            case .absentBeforeApply:
                s.tally.absentEarlierCount += 1
                if s.tally.absentEarlier.count < 1000, let earlier {
                    s.tally.absentEarlier.append(.init(line: entry.line, type: entry.type, failure: earlier.answer))
                }
                continue
            case .unconfirmed where !options.retryUnconfirmed:
                s.tally.unconfirmedEarlierCount += 1
                if s.tally.unconfirmedEarlier.count < 1000, let earlier {
                    s.tally.unconfirmedEarlier.append(
                        .init(line: entry.line, type: entry.type, failure: earlier.answer))
                }
                continue
            case .failed where !options.retryFailed:
                s.tally.failedEarlierCount += 1
                if let earlier, earlier.uncertain { s.tally.failedEarlierInDoubt += 1 }
                if s.tally.failedEarlier.count < 1000, let earlier {
                    s.tally.failedEarlier.append(.init(line: entry.line, type: entry.type, failure: earlier.answer))
                }
                continue
            default: break
            }
            var reason = preflight
            if reason == nil, case .skip(let why) = target.prepare(entry) { reason = why }
            if let reason, let earlier, earlier.attempts > 0, [.failed, .unconfirmed, .sending].contains(earlier.state) {
                // Sent before (failed, unconfirmed or in flight, retried now): never turned into a skip "by design",
                // which would drop its doubt. It is held, not sent, and counted as it stands.
                var answer = earlier.answer
                answer.message = "not sent again (\(reason)); " + answer.message
                if earlier.state == .unconfirmed {
                    s.tally.unconfirmedEarlierCount += 1
                    if s.tally.unconfirmedEarlier.count < 1000 {
                        s.tally.unconfirmedEarlier.append(.init(line: entry.line, type: entry.type, failure: answer))
                    }
                } else {
                    s.tally.failedEarlierCount += 1
                    if earlier.uncertain || earlier.state == .sending { s.tally.failedEarlierInDoubt += 1 }
                    if s.tally.failedEarlier.count < 1000 {
                        s.tally.failedEarlier.append(.init(line: entry.line, type: entry.type, failure: answer))
                    }
                }
                continue
            }
            if let reason {
                s.tally.skipped += 1
                s.tally.skipReasons[reason, default: 0] += 1
                s.skips.append((entry.line, reason))
                if s.skips.count >= Self.skipBatch { try flushSkips(&s) }
                continue
            }
            s.tally.sendable += 1
            return entry
        }
        return nil
    }

    private func flushSkips(_ s: inout State) throws {
        guard !s.skips.isEmpty else { return }
        try recordSkips?(s.skips)
        s.skips.removeAll(keepingCapacity: true)
    }
}
