import Foundation
import IDAuditCSV
import IDAuditCore

/// A person's approval of one exact file (a plan, or an erase file) for one exact destination:
/// `FILE.approval.json` beside it.
///
/// `apply` and `erase` send nothing for a file without an approval whose sha256 matches the file's bytes and whose
/// destination is the one asked for (target, host, space or partner, Insider One type map): staging and production
/// spaces fed by the same sources share user_ids, so a plan approved for one must never run against the other. A
/// plan older than its maximum age is refused too (profiles move between the scan and the apply); its age comes
/// from the `generated_at` stamped in its own records, never from a neighbouring file or the file's mtime.
package struct Approval: Codable, Sendable, Equatable {
    /// The format tag.
    package var format = Approval.currentFormat

    /// The format this version writes and reads: `/3` binds the whole endpoint; a `/2` approval named a host only,
    /// which could stand for any of its paths, and is refused.
    package static let currentFormat = "idaudit-approval/3"
    /// The file's name (for people; the sha256 is what binds).
    package var plan: String
    /// `plan` (a plan.csv) or `erase` (an erase JSONL file).
    package var kind: String
    /// The sha256 of the file's bytes.
    package var planSHA256: String
    /// Who approved it.
    package var approvedBy: String
    /// When it was approved (UTC, ISO 8601).
    package var approvedAt: String
    /// When the plan was made, from its own records (nil for an erase file or a plan with no lines).
    package var planCreatedAt: String?
    /// The sha256 of the rules the plan was made with, from its own records.
    package var rulesSHA256: String?
    /// The one destination the file may be applied to: the journal's key for it (target, host, space or a hash of
    /// the partner name, and a hash of a non-default Insider One type map).
    package var destination: String
    /// The same destination, spelled out for people.
    package var destinationDetails: [String: String]
    /// How many lines (or erase users) the file holds.
    package var lines: Int
    /// How many of them Segment's API can address (plans).
    package var remediable: Int
    /// What ``check(path:sha256:stamp:destination:now:maxAgeSeconds:allowedSigners:)`` found of its signature (not
    /// stored in the file).
    package var signature = "unsigned (no allowed-signers file)"

    enum CodingKeys: String, CodingKey {
        case format, plan, kind, lines, remediable, destination
        case planSHA256 = "plan_sha256"
        case approvedBy = "approved_by"
        case approvedAt = "approved_at"
        case planCreatedAt = "plan_created_at"
        case rulesSHA256 = "rules_sha256"
        case destinationDetails = "destination_details"
    }

    /// Where a file's approval lives.
    package static func path(forPlan plan: String) -> String { plan + ".approval.json" }

    /// Approves a plan for one destination: reads and checks it, and writes its approval beside it.
    package static func approve(
        plan: PlanFile, for destination: ApprovedDestination, by person: String, at now: Instant
    ) throws -> Approval {
        try plan.checkNoDuplicates()
        let summary = PlanSummary(
            sha256: plan.sha256, lines: plan.entries.count, remediable: plan.entries.count { $0.remediable },
            stamp: plan.stamp)
        return try approve(summary, path: plan.path, for: destination, by: person, at: now)
    }

    /// Approves the plan at `path` reading it once, in constant memory (a 1 M-line plan is never held): checks every
    /// line, refuses repeated identifiers, and writes the approval of the bytes read.
    package static func approve(
        planAt path: String, for destination: ApprovedDestination, by person: String, at now: Instant
    ) throws -> Approval {
        var finder = DuplicateFinder()
        let summary = try PlanFile.stream(path: path) { finder.add($0) }
        try finder.check(path: path)
        return try approve(summary, path: path, for: destination, by: person, at: now)
    }

    private static func approve(
        _ plan: PlanSummary, path: String, for destination: ApprovedDestination, by person: String, at now: Instant
    ) throws -> Approval {
        if let stamp = plan.stamp { try checkNotInTheFuture(stamp, path: path, now: now) }
        return try write(
            Approval(
                plan: fileName(path), kind: "plan", planSHA256: plan.sha256, approvedBy: try who(person),
                approvedAt: now.description, planCreatedAt: plan.stamp?.generatedAt.description,
                rulesSHA256: plan.stamp?.rulesSHA256, destination: destination.key,
                destinationDetails: destination.details, lines: plan.lines, remediable: plan.remediable),
            path: path)
    }

    /// Approves an erase file (its sha256 and user count) for one destination.
    package static func approveErase(
        path: String, sha256: String, users: Int, for destination: ApprovedDestination, by person: String,
        at now: Instant
    ) throws -> Approval {
        try write(
            Approval(
                plan: fileName(path), kind: "erase", planSHA256: sha256, approvedBy: try who(person),
                approvedAt: now.description, planCreatedAt: nil, rulesSHA256: nil, destination: destination.key,
                destinationDetails: destination.details, lines: users, remediable: users),
            path: path)
    }

    private static func who(_ person: String) throws(ApprovalError) -> String {
        let who = person.trimmingCharacters(in: .whitespaces)
        guard !who.isEmpty else { throw ApprovalError(message: "--by is empty: say who approves the plan") }
        return who
    }

    private static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private static func write(_ approval: Approval, path: String) throws -> Approval {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(approval)
        let file = Self.path(forPlan: path)
        // A signature of the approval this one replaces would not verify: it goes with it.
        try? FileManager.default.removeItem(atPath: ApprovalSignature.path(forApproval: file))
        try OutputFile.write(String(decoding: data, as: UTF8.self) + "\n", to: file)
        return approval
    }

    /// The approval of a file, checked: it must exist, name these exact bytes and this destination, and be younger
    /// than `maxAgeSeconds`: a plan by the stamp in its lines, a file without one (an erase file) by its approval.
    /// With an allowed-signers file (`allowedSigners`, else the configured one), it must be signed by a key listed
    /// for its `approved_by` (``ApprovalSignature``).
    package static func check(
        path: String, sha256: String, stamp: PlanStamp?, destination: ApprovedDestination, now: Instant,
        maxAgeSeconds: Int64?, allowedSigners: String? = nil
    ) throws(ApprovalError) -> Approval {
        let file = Self.path(forPlan: path)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ApprovalError(
                message: "\(path) is not approved: \(file) does not exist. Review it, then run `idaudit approve "
                    + "\(path) --by you@example.com` with the same destination options (or use --dry-run to see "
                    + "what would be sent)")
        }
        var approval: Approval
        do {
            approval = try JSONDecoder().decode(Approval.self, from: data)
        } catch {
            throw ApprovalError(
                message: "\(file): not an idaudit approval of this version (\(error)); approve the plan again")
        }
        guard approval.format == currentFormat else {
            throw ApprovalError(
                message: "\(file) is an approval of format \(approval.format), made by an earlier idaudit whose "
                    + "approvals named a host, not the whole endpoint (scheme, port and path): review \(path) and "
                    + "approve it again")
        }
        guard approval.planSHA256 == sha256 else {
            throw ApprovalError(
                message: "\(path) changed since it was approved: its sha256 is \(sha256), the approval "
                    + "(\(approval.approvedBy), \(approval.approvedAt)) names \(approval.planSHA256). Review it "
                    + "again and re-approve it")
        }
        guard approval.destination == destination.key else {
            throw ApprovalError(
                message: "\(path) is approved for \(approval.destination) (\(describe(approval.destinationDetails))), "
                    + "not for \(destination.key) (\(describe(destination.details))): an approval names one "
                    + "destination; approve the plan for this one if that is what you mean")
        }
        if let stamp { try checkNotInTheFuture(stamp, path: path, now: now) }
        if let maxAgeSeconds, let stamp {
            let age = (now.microseconds - stamp.generatedAt.microseconds) / 1_000_000
            if age > maxAgeSeconds {
                throw ApprovalError(
                    message: "\(path) was made \(describe(seconds: age)) ago (\(stamp.generatedAt)), more than "
                        + "--max-plan-age \(describe(seconds: maxAgeSeconds)): profiles move, so scan again and "
                        + "approve the new plan")
            }
        } else if let maxAgeSeconds {
            // A file without a stamp (an erase file) ages from its approval: a request approved months ago is not
            // what anyone reviewed for today.
            guard let approved = Instant(parsing: approval.approvedAt) else {
                throw ApprovalError(message: "\(file): approved_at \(approval.approvedAt) is not a time; approve again")
            }
            let age = (now.microseconds - approved.microseconds) / 1_000_000
            if age > maxAgeSeconds || age < -300 {
                throw ApprovalError(
                    message: "\(path) was approved \(describe(seconds: age)) ago (\(approval.approvedAt)), more than "
                        + "--max-approval-age \(describe(seconds: maxAgeSeconds)): review it and approve it again")
            }
        }
        // The bytes just decoded are the bytes verified: a file swapped between two reads cannot pass.
        approval.signature = try ApprovalSignature.check(
            approvalBytes: data, approvedBy: approval.approvedBy, approvalPath: file, allowedSigners: allowedSigners)
        return approval
    }

    /// A clock may drift a little; a plan made more than five minutes in the future has a forged or broken stamp,
    /// and would never age out.
    static func checkNotInTheFuture(_ stamp: PlanStamp, path: String, now: Instant) throws(ApprovalError) {
        if stamp.generatedAt.microseconds - now.microseconds > 300 * 1_000_000 {
            throw ApprovalError(
                message: "\(path): generated_at \(stamp.generatedAt) is in the future (now \(now)): the plan's stamp "
                    + "is wrong; scan again")
        }
    }

    private static func describe(_ details: [String: String]) -> String {
        details.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// "3 d 4 h", "5 h 2 min", "40 s".
    package static func describe(seconds: Int64) -> String {
        if seconds >= 86_400 { return "\(seconds / 86_400) d \(seconds % 86_400 / 3600) h" }
        if seconds >= 3600 { return "\(seconds / 3600) h \(seconds % 3600 / 60) min" }
        if seconds >= 60 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }
}

/// The destination an approval is for: the journal's key for it, and the same spelled out for people.
package struct ApprovedDestination: Sendable, Equatable {
    /// The key (``DeletionTarget/destination``).
    package var key: String
    /// Target, host, space or partner hash, type map hash: what a person reads in a refusal.
    package var details: [String: String]

    /// Creates a destination.
    package init(key: String, details: [String: String]) {
        self.key = key
        self.details = details
    }
}

/// Why a plan may not be applied.
package struct ApprovalError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and what to do.
    package var message: String

    /// Creates an error.
    package init(message: String) { self.message = message }

    package var description: String { message }
}

/// Parses a duration such as `7d`, `36h`, `90m`, `600s` or a bare number of days.
package func parseDuration(_ text: String) -> Int64? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    var digits = Substring(t)
    var factor: Int64 = 86_400
    for (suffix, seconds) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] as [(String, Int64)]
    where t.hasSuffix(suffix) {
        digits = t.dropLast(suffix.count)
        factor = seconds
        break
    }
    guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int64(digits), n >= 0 else { return nil }
    let (total, overflow) = n.multipliedReportingOverflow(by: factor)
    guard !overflow, total <= maxDurationSeconds else { return nil }
    return total
}

/// The longest age limit accepted: ten years, in seconds (more is a typo; past it, arithmetic on times overflows).
package let maxDurationSeconds: Int64 = 3650 * 86_400
