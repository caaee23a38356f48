import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditTestSupport
import Testing

/// Issue 4: apply refuses a plan that is not approved, changed since, or too old.
struct ApprovalTests {
    @Test func anApprovedPlanPassesAndRecordsWhoAndWhat() throws {
        let f = try ApplyFixture("approve-ok")
        let approval = try Approval.approve(planPath: f.planPath, by: " dana@acme.io ", at: ApplyFixture.now)
        #expect(approval.approvedBy == "dana@acme.io")
        #expect(approval.lines == 5)
        #expect(approval.remediable == 4)
        #expect(approval.planCreatedAt == ApplyFixture.now.description)  // summary.json's generated_at
        let checked = try Approval.check(plan: try f.plan(), now: ApplyFixture.now, maxAgeSeconds: 7 * 86_400)
        #expect(checked == approval)
    }

    @Test func aPlanWithoutApprovalIsRefused() throws {
        let f = try ApplyFixture("approve-none")
        #expect {
            try Approval.check(plan: try f.plan(), now: ApplyFixture.now, maxAgeSeconds: 86_400)
        } throws: { ($0 as? ApprovalError)?.message.contains("is not approved") == true }
    }

    @Test func aPlanChangedByOneByteIsRefused() throws {
        let f = try ApplyFixture("approve-changed")
        _ = try Approval.approve(planPath: f.planPath, by: "dana", at: ApplyFixture.now)
        var text = try String(contentsOfFile: f.planPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "b@x.com", with: "c@x.com")
        try text.write(toFile: f.planPath, atomically: true, encoding: .utf8)
        #expect {
            try Approval.check(plan: try f.plan(), now: ApplyFixture.now, maxAgeSeconds: 86_400)
        } throws: { ($0 as? ApprovalError)?.message.contains("changed since it was approved") == true }
    }

    @Test func aPlanOlderThanTheMaximumAgeIsRefused() throws {
        let f = try ApplyFixture("approve-old")
        _ = try Approval.approve(planPath: f.planPath, by: "dana", at: ApplyFixture.now)
        let eightDaysLater = Instant(microseconds: ApplyFixture.now.microseconds + 8 * 86_400 * 1_000_000)
        #expect {
            try Approval.check(plan: try f.plan(), now: eightDaysLater, maxAgeSeconds: 7 * 86_400)
        } throws: { ($0 as? ApprovalError)?.message.contains("was made 8 d 0 h ago") == true }
        // Exactly 7 days is still allowed.
        let sevenDaysLater = Instant(microseconds: ApplyFixture.now.microseconds + 7 * 86_400 * 1_000_000)
        _ = try Approval.check(plan: try f.plan(), now: sevenDaysLater, maxAgeSeconds: 7 * 86_400)
    }

    @Test(arguments: [("7d", 604_800), ("36h", 129_600), ("90m", 5_400), ("600s", 600), ("2", 172_800)])
    func durationsParse(_ text: String, _ seconds: Int64) {
        #expect(parseDuration(text) == seconds)
    }

    @Test func aBadPlanNamesTheFileAndLine() throws {
        let dir = try TemporaryDirectory("plan-bad")
        let path = try dir.write(
            "plan.csv", "segment_id,type,value,reason,rank,lookup_user_id,remediable\nuse_A,email,a@x.com,limit,1,u1,maybe\n")
        #expect {
            try PlanFile.read(path: path)
        } throws: { "\($0)" == "\(path):2: remediable is \"maybe\"; expected true or false" }
        let notAPlan = try dir.write("other.csv", "a,b\n1,2\n")
        #expect {
            try PlanFile.read(path: notAPlan)
        } throws: { "\($0)".contains(":1: not a plan: missing column segment_id") }
    }
}
