import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Issue 7: a request plan passes through approve, apply (against the emulator) and verify like a scan's plan.
struct RequestPlanApplyTests {
    @Test func aRequestPlanIsApprovedAppliedAndVerified() async throws {
        let f = try ApplyFixture("request-apply")
        let requests = try f.dir.write(
            "bad-emails.csv",
            "type,value\nemail,c@x.com\nemail,x2@x.com\nuser_id,d1\nemail,nobody@x.com\n")
        let result = try RequestPlanner.run(
            store: f.store,
            options: RequestPlanOptions(
                requestsPath: requests, outDirectory: f.dir.file("cleanup"), rules: nil, rejectsPath: nil),
            now: ApplyFixture.now)
        // c@x.com (use_A, lookup u2) and x2@x.com (use_C: no user_id, not remediable) are planned; d1 is use_D's
        // last user_id and nobody@x.com is not in the store.
        #expect(result.planned == 2)
        #expect(result.remediable == 1)
        let planPath = f.dir.file("cleanup/plan.csv")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let destination = ApplyFixture.segmentDestination(endpoint: emulator.endpoint)
        let plan = try PlanFile.read(path: planPath)
        _ = try Approval.approve(plan: plan, for: destination, by: "dana@acme.io", at: ApplyFixture.now)
        _ = try Approval.check(
            path: plan.path, sha256: plan.sha256, stamp: plan.stamp, destination: destination, now: ApplyFixture.now,
            maxAgeSeconds: 7 * 86_400)

        let report = try await HTTPTransport.with(connections: 4, timeoutSeconds: 5) { transport in
            try await ApplyEngine(
                plan: plan,
                target: SegmentTarget(space: "spa_test", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token)),
                transport: transport, journal: try f.journal(), options: ApplyFixture.fastOptions()
            ).run()
        }
        try await emulator.stop()
        #expect(report.done == 1)
        #expect(report.skipped == 1)
        #expect(try f.store.identifier(type: "email", value: "c@x.com")?.active == false)

        let verified = try Verifier.verify(plan: plan, store: f.store, journals: [try f.journal()])
        #expect(verified.confirmed == 1)
        #expect(verified.cameBack.isEmpty)
        #expect(verified.notYetReflected.isEmpty)
    }
}
