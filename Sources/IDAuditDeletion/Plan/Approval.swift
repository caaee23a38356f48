import Foundation
import IDAuditCSV
import IDAuditCore

/// A person's approval of one exact plan: `plan.csv.approval.json` beside it.
///
/// `apply` sends nothing for a plan without an approval whose sha256 matches the plan's bytes, and nothing for a
/// plan older than its maximum age: profiles move between the scan and the apply.
public struct Approval: Codable, Sendable, Equatable {
    /// The format tag.
    public var format = "idaudit-approval/1"
    /// The plan's file name (for people; the sha256 is what binds).
    public var plan: String
    /// The sha256 of the plan's bytes.
    public var planSHA256: String
    /// Who approved it.
    public var approvedBy: String
    /// When it was approved (UTC, ISO 8601).
    public var approvedAt: String
    /// When the plan was made: `generated_at` of the `summary.json` beside it, else the file's modification time.
    public var planCreatedAt: String
    /// How many lines the plan holds.
    public var lines: Int
    /// How many of them Segment's API can address.
    public var remediable: Int

    enum CodingKeys: String, CodingKey {
        case format, plan, lines, remediable
        case planSHA256 = "plan_sha256"
        case approvedBy = "approved_by"
        case approvedAt = "approved_at"
        case planCreatedAt = "plan_created_at"
    }

    /// Where a plan's approval lives.
    public static func path(forPlan plan: String) -> String { plan + ".approval.json" }

    /// Approves a plan: reads and checks it, and writes its approval beside it (temp file, then rename).
    public static func approve(planPath: String, by person: String, at now: Instant) throws -> Approval {
        let who = person.trimmingCharacters(in: .whitespaces)
        guard !who.isEmpty else { throw ApprovalError(message: "--by is empty: say who approves the plan") }
        let plan = try PlanFile.read(path: planPath)
        let approval = Approval(
            plan: planPath.split(separator: "/").last.map(String.init) ?? planPath, planSHA256: plan.sha256,
            approvedBy: who, approvedAt: now.description, planCreatedAt: createdAt(planPath: planPath).description,
            lines: plan.entries.count, remediable: plan.entries.count { $0.remediable })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(approval)
        try OutputFile.write(String(decoding: data, as: UTF8.self) + "\n", to: path(forPlan: planPath))
        return approval
    }

    /// The approval of a plan, checked: it must exist, name these exact bytes, and the plan must be younger than
    /// `maxAge` seconds.
    public static func check(plan: PlanFile, now: Instant, maxAgeSeconds: Int64) throws(ApprovalError) -> Approval {
        let file = path(forPlan: plan.path)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ApprovalError(
                message: "\(plan.path) is not approved: \(file) does not exist. Review the plan, then run "
                    + "`idaudit approve \(plan.path) --by you@example.com` (or use --dry-run to see what would be sent)")
        }
        let approval: Approval
        do {
            approval = try JSONDecoder().decode(Approval.self, from: data)
        } catch {
            throw ApprovalError(message: "\(file): not an idaudit approval (\(error))")
        }
        guard approval.planSHA256 == plan.sha256 else {
            throw ApprovalError(
                message: "\(plan.path) changed since it was approved: its sha256 is \(plan.sha256), the approval "
                    + "(\(approval.approvedBy), \(approval.approvedAt)) names \(approval.planSHA256). Review the "
                    + "plan again and re-approve it")
        }
        guard let created = Instant(parsing: approval.planCreatedAt) else {
            throw ApprovalError(message: "\(file): plan_created_at \"\(approval.planCreatedAt)\" is not a time")
        }
        let age = (now.microseconds - created.microseconds) / 1_000_000
        if age > maxAgeSeconds {
            throw ApprovalError(
                message: "\(plan.path) was made \(describe(seconds: age)) ago (\(approval.planCreatedAt)), more than "
                    + "--max-plan-age \(describe(seconds: maxAgeSeconds)): profiles move, so scan again and approve "
                    + "the new plan")
        }
        return approval
    }

    /// When a plan was made: its folder's `summary.json` `generated_at` if present, else the file's mtime.
    static func createdAt(planPath: String) -> Instant {
        let folder = planPath.contains("/") ? String(planPath[..<planPath.lastIndex(of: "/")!]) : "."
        if let data = FileManager.default.contents(atPath: folder + "/summary.json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let text = object["generated_at"] as? String, let time = Instant(parsing: text)
        {
            return time
        }
        var info = stat()
        if stat(planPath, &info) == 0 { return Instant(seconds: Int64(info.st_mtim.tv_sec)) }
        return Instant(seconds: 0)
    }

    /// "3 d 4 h", "5 h 2 min", "40 s".
    public static func describe(seconds: Int64) -> String {
        if seconds >= 86_400 { return "\(seconds / 86_400) d \(seconds % 86_400 / 3600) h" }
        if seconds >= 3600 { return "\(seconds / 3600) h \(seconds % 3600 / 60) min" }
        if seconds >= 60 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }
}

/// Why a plan may not be applied.
public struct ApprovalError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and what to do.
    public var message: String

    /// Creates an error.
    public init(message: String) { self.message = message }

    public var description: String { message }
}

/// Parses a duration such as `7d`, `36h`, `90m`, `600s` or a bare number of days.
public func parseDuration(_ text: String) -> Int64? {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Int64)] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)]
    for (suffix, factor) in units where t.hasSuffix(suffix) {
        guard let n = Int64(t.dropLast(suffix.count)), n >= 0 else { return nil }
        return n * factor
    }
    guard let days = Int64(t), days >= 0 else { return nil }
    return days * 86_400
}
