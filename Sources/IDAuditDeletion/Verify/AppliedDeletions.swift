import IDAuditCore
import IDAuditStore

/// Hands what an apply deleted at Segment to the store, which keeps identifier values (the journal does not):
/// later scans then classify an excess identifier that was deleted and came back as reintroduced.
public enum AppliedDeletions {
    /// Records every line of `plan` the journal holds as done at `destination`; returns how many.
    @discardableResult
    public static func record(plan: PlanFile, journal: Journal, destination: String, store: ProfileStore, at time: Instant)
        throws -> Int
    {
        let states = try journal.lineStates(plan: plan.sha256, destination: destination)
        let done = plan.entries.filter { states[$0.line]?.state == .done }
        try store.recordAppliedDeletions(
            done.map { ExcessIdentifier(type: $0.type, value: $0.value) }, destination: destination,
            planSHA256: plan.sha256, at: time)
        return done.count
    }
}
