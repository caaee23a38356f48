import Foundation
import IDAuditCore
import IDAuditStore

/// After an apply, and after a newer export was ingested: is every deleted identifier really gone?
///
/// Each line the journal records as `done` for a Segment destination is looked up in the store:
/// - **confirmed**: the identifier is no longer active;
/// - **came back**: active again although a REMOVED row for it arrived after the deletion (an event replay, or an
///   event sent within minutes of the deletion, reintroduced it: seed 001 and the domain notes warn of both);
/// - **not yet reflected**: active, and no REMOVED row since the deletion: Profiles Sync has not synced it yet
///   (hourly, per the domain notes), or the newer export was not ingested.
package enum Verifier {
    /// Allowed clock skew between idaudit's journal and the platform's REMOVED rows.
    package static let skewSeconds: Int64 = 300

    /// Verifies the `done` lines of `plan` at its Segment destination in `journals` (of space `space`, or exactly
    /// `destination`, when given). A store holds one space's profiles: a plan applied to several Segment
    /// destinations (a rehearsal and the real space, two regions) is verified one destination at a time.
    ///
    /// - Throws: ``VerifyError`` when several destinations match and none was chosen.
    package static func verify(
        plan: PlanFile, store: ProfileStore, journals: [Journal], space: String? = nil, destination chosen: String? = nil
    ) throws -> VerifyReport {
        var pairs: [(journal: Journal, destination: String)] = []
        for journal in journals {
            for destination in try journal.destinations(plan: plan.sha256)
            where destination.hasPrefix("segment/") && (space.map { destination.hasSuffix("/" + $0) } ?? true)
                && (chosen.map { destination == $0 } ?? true)
                // One journal per destination: the first that has it (a legacy copy after it is left out).
                && !pairs.contains(where: { $0.destination == destination })
            {
                pairs.append((journal, destination))
            }
        }
        guard pairs.count <= 1 else {
            throw VerifyError(
                message: "\(plan.path) was applied to \(pairs.count) Segment destinations ("
                    + pairs.map(\.destination).joined(separator: ", ") + "); a store holds one space's profiles: pass "
                    + "--destination with the one this store shows (apply-report.json names it)")
        }
        var report = VerifyReport(plan: plan.path, planSHA256: plan.sha256, destinations: pairs.map(\.destination))
        let byLine = Dictionary(uniqueKeysWithValues: plan.entries.map { ($0.line, $0) })
        for (journal, destination) in pairs {
            let states = try journal.lineStates(plan: plan.sha256, destination: destination)
            let firstSent = try journal.firstSent(plan: plan.sha256, destination: destination)
            report.unconfirmed += states.values.count { $0.state == .unconfirmed }
            report.failed += states.values.count { $0.state == .failed || $0.state == .sending }
            report.notSent += plan.entries.count { $0.remediable && states[$0.line] == nil }
            for (line, state) in states.sorted(by: { $0.key < $1.key }) where state.state == .done {
                guard let entry = byLine[line] else { continue }
                let item = VerifyReport.Item(line: line, type: entry.type, value: entry.value, destination: destination)
                guard let record = try store.identifier(type: entry.type, value: entry.value), record.active else {
                    report.confirmed += 1
                    continue
                }
                // From the first attempt: a line deleted, killed in flight and answered eid_not_found a day later was
                // deleted at its first attempt, and a REMOVED row from then counts.
                let sent = firstSent[line] ?? state.updatedAt
                let since = sent.microseconds - skewSeconds * 1_000_000
                if record.history.contains(where: { $0.removed && $0.time.microseconds >= since }) {
                    report.cameBack.append(item)
                } else {
                    report.notYetReflected.append(item)
                }
            }
        }
        return report
    }
}

/// What `verify` found.
package struct VerifyReport: Sendable, Codable {
    /// One identifier that is still active.
    package struct Item: Sendable, Codable, Equatable {
        /// The plan line.
        package var line: Int
        /// The identifier type.
        package var type: String
        /// The identifier value.
        package var value: String
        /// Where it was deleted.
        package var destination: String
    }

    /// The plan's path.
    package var plan: String
    /// The plan's sha256.
    package var planSHA256: String
    /// The destinations checked.
    package var destinations: [String]
    /// Deleted lines whose identifier is inactive in the store.
    package var confirmed = 0
    /// Deleted, then active again: reintroduced.
    package var cameBack: [Item] = []
    /// Deleted, still active, no REMOVED row yet.
    package var notYetReflected: [Item] = []
    /// Lines answered by a 2xx that was not the documented success: not verified (never counted as deleted); look
    /// them up, then `apply --retry-unconfirmed`.
    package var unconfirmed = 0
    /// Lines that failed, or whose last attempt has no answer: not deleted as far as anyone knows.
    package var failed = 0
    /// Remediable lines no run sent to the destination.
    package var notSent = 0

    enum CodingKeys: String, CodingKey {
        case plan, destinations, confirmed, unconfirmed, failed
        case notSent = "not_sent"
        case planSHA256 = "plan_sha256"
        case cameBack = "came_back"
        case notYetReflected = "not_yet_reflected"
    }

    /// The report as pretty JSON.
    package var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
    }
}

/// Why a plan cannot be verified as asked.
package struct VerifyError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and what to do.
    package var message: String
    package var description: String { message }
}
