import IDAuditCore
import IDAuditStore

/// Hands what an apply deleted at Segment to the store, which keeps identifier values (the journal does not):
/// later scans then classify an excess identifier that was deleted and came back as reintroduced.
package enum AppliedDeletions {
    /// Records every line of `plan` the journal holds as done at `destination`; returns how many. The plan is read
    /// once, the journal a chunk of lines at a time: a 1 M-line plan is never held.
    @discardableResult
    package static func record(
        plan: any PlanLines, journal: Journal, destination: String, store: ProfileStore, at time: Instant
    ) throws -> Int {
        var recorded = 0
        var chunk: [Int: LineState] = [:]
        var range: ClosedRange<Int>?
        var done: [ExcessIdentifier] = []
        func flush() throws {
            try store.recordAppliedDeletions(done, destination: destination, planSHA256: plan.sha256, at: time)
            recorded += done.count
            done.removeAll(keepingCapacity: true)
        }
        try plan.forEach { entry in
            if range.map({ !$0.contains(entry.line) }) ?? true {
                let next = entry.line...(entry.line + LineFeed.chunkLines - 1)
                chunk = try journal.lineStates(plan: plan.sha256, destination: destination, lines: next)
                range = next
            }
            if chunk[entry.line]?.state == .done { done.append(ExcessIdentifier(type: entry.type, value: entry.value)) }
            if done.count >= 10_000 { try flush() }
        }
        try flush()
        return recorded
    }
}
