import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditTestSupport
import Testing

/// Issue 19 item 6: approvals signed with SSH keys (`ssh-keygen -Y sign`, namespace `idaudit-approval`); with an
/// allowed-signers file, apply refuses an approval that is edited, signed by an unlisted key, or unsigned.
struct SignedApprovalTests {
    /// A plan approved by dana@acme.io, dana's and eve's keys, and an allowed-signers file listing dana's.
    struct Setup {
        let f: ApplyFixture
        let allowed: String
        let dana: String
        let eve: String
        let destination = ApplyFixture.segmentDestination(endpoint: "http://127.0.0.1:9")

        init(_ name: String) throws {
            f = try ApplyFixture(name)
            dana = f.dir.file("dana")
            eve = f.dir.file("eve")
            for key in [dana, eve] { try Self.keygen(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key]) }
            let danaPublic = try String(contentsOfFile: dana + ".pub", encoding: .utf8).split(separator: " ")
            allowed = f.dir.file("allowed_signers")
            try "dana@acme.io \(danaPublic[0]) \(danaPublic[1])\n".write(
                toFile: allowed, atomically: true, encoding: .utf8)
        }

        static func keygen(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ssh-keygen"] + arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
        }

        func approve(signWith key: String?) throws {
            _ = try Approval.approve(plan: try f.plan(), for: destination, by: "dana@acme.io", at: ApplyFixture.now)
            if let key { try ApprovalSignature.sign(approvalPath: Approval.path(forPlan: f.planPath), key: key) }
        }

        func check(allowedSigners: String?) throws -> Approval {
            let plan = try f.plan()
            return try Approval.check(
                path: plan.path, sha256: plan.sha256, stamp: plan.stamp, destination: destination,
                now: ApplyFixture.now, maxAgeSeconds: 7 * 86_400, allowedSigners: allowedSigners)
        }
    }

    @Test func aSignedApprovalIsAccepted() throws {
        let s = try Setup("signed-ok")
        try s.approve(signWith: s.dana)
        let approval = try s.check(allowedSigners: s.allowed)
        #expect(approval.signature.hasPrefix("signed by dana@acme.io"))
        #expect(approval.signature.contains("ED25519"))
    }

    /// `jq '.approved_by = "cto@acme.io"'` used to be accepted: every byte is signed.
    @Test func anEditedApprovalIsRefused() throws {
        let s = try Setup("signed-edited")
        try s.approve(signWith: s.dana)
        let path = Approval.path(forPlan: s.f.planPath)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "\"lines\" : 5", with: "\"lines\" : 6")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ApprovalError.self) { try s.check(allowedSigners: s.allowed) }
    }

    @Test func anApprovalSignedByAnUnlistedKeyIsRefused() throws {
        let s = try Setup("signed-eve")
        try s.approve(signWith: s.eve)
        do {
            _ = try s.check(allowedSigners: s.allowed)
            Issue.record("eve's signature was accepted")
        } catch {
            #expect("\(error)".contains("does not verify for dana@acme.io"))
        }
    }

    @Test func anUnsignedApprovalIsRefusedUnderAllowedSigners() throws {
        let s = try Setup("signed-none")
        try s.approve(signWith: nil)
        do {
            _ = try s.check(allowedSigners: s.allowed)
            Issue.record("an unsigned approval was accepted")
        } catch {
            #expect("\(error)".contains("is not signed"))
        }
        // Without an allowed-signers file, unsigned approvals still work, and say so.
        #expect(try s.check(allowedSigners: nil).signature.hasPrefix("unsigned"))
    }

    /// Approving again (for another destination, say) drops the old signature: it would not verify.
    @Test func reApprovingDropsTheOldSignature() throws {
        let s = try Setup("signed-again")
        try s.approve(signWith: s.dana)
        try s.approve(signWith: nil)
        #expect(
            !FileManager.default.fileExists(
                atPath: ApprovalSignature.path(forApproval: Approval.path(forPlan: s.f.planPath))))
    }

    /// A configured allowed-signers file that is a dangling link (an unmounted volume) fails closed.
    @Test func aDanglingConfiguredAllowedSignersFileIsStillRequired() throws {
        let dir = try TemporaryDirectory("signers-dangling")
        try FileManager.default.createDirectory(atPath: dir.file("config/idaudit"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: dir.file("config/idaudit/allowed_signers"), withDestinationPath: dir.file("unmounted/allowed"))
        let found = ApprovalSignature.configuredAllowedSigners(environment: ["XDG_CONFIG_HOME": dir.file("config")])
        #expect(found == dir.file("config/idaudit/allowed_signers"))
        #expect(ApprovalSignature.configuredAllowedSigners(environment: ["XDG_CONFIG_HOME": dir.file("none")]) == nil)
    }
}
