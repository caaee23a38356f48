import ArgumentParser
import IDAuditDeletion

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Approve a plan for apply: record its sha256, who, when and its line counts.",
        discussion: """
            Writes PLAN.approval.json beside the plan. apply refuses a plan without an approval that names its \
            exact bytes (one byte changed: refused, with the reason), and a plan older than --max-plan-age \
            (default 7 days): profiles move between a scan and an apply.

            Example:
              idaudit approve reports/2026-11-23/plan.csv --by "dana@acme.io"
            """)

    @Argument(help: "The plan.csv to approve (from scan or request-plan).")
    var plan: String

    @Option(help: "Who approves it (a name or an email address), recorded in the approval.")
    var by: String

    func run() throws {
        try reportingFailures {
            let approval = try Approval.approve(planPath: plan, by: by, at: Clock.now())
            print("approved \(plan) (sha256 \(approval.planSHA256.prefix(16))…) by \(approval.approvedBy)")
            print("  \(Terminal.count(approval.lines)) lines, \(Terminal.count(approval.remediable)) remediable")
            print("  plan made \(approval.planCreatedAt); written \(Approval.path(forPlan: plan))")
        }
    }
}
