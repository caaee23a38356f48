import ArgumentParser
import Foundation
import IDAuditCSV
import IDAuditDeletion

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Approve a plan (or an erase file) for one destination: its sha256, who, when, where.",
        discussion: """
            Writes FILE.approval.json beside the file. apply (and erase) refuse a file without an approval that \
            names its exact bytes (one byte changed: refused, with the reason) and the very destination asked \
            for: the target, the host (--region or --endpoint), the Segment space, or the Insider One partner \
            (a hash of it) and type map. A plan approved for a staging space is refused for production. apply \
            also refuses a plan older than --max-plan-age (default 7 days), judged by the generated_at the scan \
            stamped in every line of the plan.

            Signed approvals: --sign-with KEY signs the approval with an SSH key (ssh-keygen -Y sign, namespace \
            idaudit-approval; a key in ssh-agent works). apply and erase with --allowed-signers FILE (or the file \
            at ~/.config/idaudit/allowed_signers) refuse an approval whose signature does not verify for its \
            approved_by: an edited approval, one signed by an unlisted key, an unsigned one. An allowed-signers \
            line: `dana@acme.io ssh-ed25519 AAAA...` (as for git's gpg.ssh.allowedSignersFile).

            No token is needed. The Insider One partner name comes from IDAUDIT_INSIDER_PARTNER or --partner-file.

            Examples:
              idaudit approve reports/2026-11-23/plan.csv --by "dana@acme.io" \\
                  --target segment --space spa_123
              idaudit approve plan.csv --by "dana@acme.io" --target segment \\
                  --space spa_123 --sign-with ~/.ssh/id_ed25519
              idaudit approve plan.csv --by "dana@acme.io" --target segment \\
                  --space spa_9 --region eu
              export IDAUDIT_INSIDER_PARTNER=mybrand
              idaudit approve plan.csv --by dana --target insider --type-map map.yaml
              idaudit approve users.jsonl --by dana --target insider    # for erase
            """)

    @Argument(help: "The plan.csv (from scan or request-plan), or an erase JSONL file.")
    var plan: String

    @Option(help: "Who approves it (a name or an email address), recorded in the approval.")
    var by: String

    @Option(
        help: """
            Sign the approval with this SSH key (a private key file, or a public key whose private half is in \
            ssh-agent): FILE.approval.json.sig, which apply --allowed-signers checks.
            """)
    var signWith: String?

    @OptionGroup(title: "Destination (the one apply will be allowed to send to)")
    var destination: DestinationOptions

    func run() throws {
        try reportingFailures {
            if let signWith, !FileManager.default.isReadableFile(atPath: signWith) {
                throw ValidationError("--sign-with \(signWith): cannot read the key")
            }
            let now = Clock.now()
            if Self.isEraseFile(plan) {
                let (sha, users) = try EraseFile.read(path: plan)
                let approval = try Approval.approveErase(
                    path: plan, sha256: sha, users: users.count, for: try destination.attributeDestination(), by: by,
                    at: now)
                print("approved \(plan) (sha256 \(approval.planSHA256.prefix(16))…) by \(approval.approvedBy)")
                print("  \(Terminal.count(approval.lines)) users, for \(approval.destination)")
                print("  written \(Approval.path(forPlan: plan))")
                try sign()
                return
            }
            let approval = try Approval.approve(
                planAt: plan, for: try destination.identifierDestination(), by: by, at: now)
            print("approved \(plan) (sha256 \(approval.planSHA256.prefix(16))…) by \(approval.approvedBy)")
            print("  \(Terminal.count(approval.lines)) lines, \(Terminal.count(approval.remediable)) remediable")
            print("  for \(approval.destination)")
            print("  plan made \(approval.planCreatedAt ?? "(no lines)"); written \(Approval.path(forPlan: plan))")
            try sign()
        }
    }

    /// Signs the approval just written, with --sign-with.
    private func sign() throws {
        guard let signWith else {
            print("  unsigned: where apply requires signed approvals (--allowed-signers), approve with --sign-with KEY")
            return
        }
        let approvalPath = Approval.path(forPlan: plan)
        do {
            try ApprovalSignature.sign(approvalPath: approvalPath, key: signWith)
        } catch {
            // Never leave an unsigned approval behind a signing that failed: it would pass wherever signatures are
            // not checked.
            try? FileManager.default.removeItem(atPath: approvalPath)
            throw error
        }
        print("  signed with \(signWith): \(ApprovalSignature.path(forApproval: approvalPath))")
    }

    /// An erase file is JSONL: its first non-blank byte opens an object.
    static func isEraseFile(_ path: String) -> Bool {
        // The first 64 KB, never the whole file: a plan can be gigabytes.
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 1 << 16) else { return false }
        return head.first { $0 != 32 && $0 != 9 && $0 != 10 && $0 != 13 } == UInt8(ascii: "{")
    }
}
