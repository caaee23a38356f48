import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SSH signatures of approvals: `ssh-keygen -Y sign` over the approval file's bytes, namespace `idaudit-approval`,
/// written beside it as `FILE.approval.json.sig`; checked with `ssh-keygen -Y verify` against an allowed-signers file
/// (the format of git's `gpg.ssh.allowedSignersFile`), with the approval's `approved_by` as the principal.
///
/// An approval is a JSON file anyone who can write beside the plan can edit (`jq '.approved_by = "cto"'`); the
/// signature binds every byte of it, the destination and the approver included, to a key the allowed-signers file
/// trusts for that approver. The keys people already have (and their agents, hardware keys included) sign it.
package enum ApprovalSignature {
    /// The signature namespace: a signature made for git commits or anything else never verifies as an approval.
    package static let namespace = "idaudit-approval"

    /// The allowed-signers file used when `--allowed-signers` is not given: `$XDG_CONFIG_HOME/idaudit/allowed_signers`
    /// (else `~/.config/idaudit/allowed_signers`) when it exists. With one, every approval must be signed.
    package static func configuredAllowedSigners(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        let base: String
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            base = config
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            base = home + "/.config"
        } else {
            return nil
        }
        let path = base + "/idaudit/allowed_signers"
        // lstat, not fileExists: a configured file that is a dangling link (an unmounted volume) must fail closed,
        // never read as "no allowed-signers file".
        var info = stat()
        return lstat(path, &info) == 0 ? path : nil
    }

    /// Checks an approval's signature when an allowed-signers file is set (`given`, else the configured one): what
    /// the report says of it, `signed by PRINCIPAL (...)` or `unsigned (no allowed-signers file)`.
    static func check(approvalBytes: Data, approvedBy: String, approvalPath: String, allowedSigners given: String?)
        throws(ApprovalError) -> String
    {
        guard let allowedSigners = given ?? configuredAllowedSigners() else {
            return FileManager.default.fileExists(atPath: path(forApproval: approvalPath))
                ? "signed, not checked (no allowed-signers file)" : "unsigned (no allowed-signers file)"
        }
        let said = try verify(
            approvalBytes: approvalBytes, approvalPath: approvalPath, principal: approvedBy,
            allowedSigners: allowedSigners)
        return "signed by \(approvedBy), verified against \(allowedSigners): \(said)"
    }

    /// Where the signature of the approval at `approvalPath` lives.
    package static func path(forApproval approvalPath: String) -> String { approvalPath + ".sig" }

    /// Signs the approval file with `key`: a private key file, or a public key file whose private half is in the SSH
    /// agent (`ssh-keygen -Y sign -f KEY`). Replaces an earlier signature.
    package static func sign(approvalPath: String, key: String) throws(ApprovalError) {
        let signature = path(forApproval: approvalPath)
        try? FileManager.default.removeItem(atPath: signature)
        let result = run(["-Y", "sign", "-f", key, "-n", namespace, approvalPath], input: nil)
        guard result.status == 0, FileManager.default.fileExists(atPath: signature) else {
            throw ApprovalError(
                message: "\(approvalPath): ssh-keygen could not sign it with \(key): \(result.message)")
        }
    }

    /// Checks the signature of the approval whose bytes are `bytes` against `allowedSigners` for `principal` (its
    /// `approved_by`); returns what ssh-keygen said of it (the key's type and fingerprint).
    ///
    /// - Throws: ``ApprovalError`` naming why: no signature, a signature that does not verify (the file was edited,
    ///   or signed by a key not listed for the principal), ssh-keygen missing.
    package static func verify(
        approvalBytes bytes: Data, approvalPath: String, principal: String, allowedSigners: String
    ) throws(ApprovalError) -> String {
        let signature = path(forApproval: approvalPath)
        guard FileManager.default.fileExists(atPath: signature) else {
            throw ApprovalError(
                message: "\(approvalPath) is not signed, and the allowed-signers file \(allowedSigners) requires a "
                    + "signed approval: approve again with --sign-with KEY")
        }
        guard FileManager.default.isReadableFile(atPath: allowedSigners) else {
            throw ApprovalError(message: "the allowed-signers file \(allowedSigners): cannot read it")
        }
        let result = run(
            ["-Y", "verify", "-f", allowedSigners, "-I", principal, "-n", namespace, "-s", signature], input: bytes)
        guard result.status != 127 else { throw ApprovalError(message: "\(approvalPath): \(result.message)") }
        guard result.status == 0 else {
            throw ApprovalError(
                message: "\(approvalPath): its signature does not verify for \(principal) against \(allowedSigners) "
                    + "(the approval was changed after it was signed, or signed by a key not listed for "
                    + "\(principal)): \(result.message)")
        }
        return result.message
    }

    /// Runs ssh-keygen; its status and its output (both streams, trimmed, control characters escaped).
    private static func run(_ arguments: [String], input: Data?) -> (status: Int32, message: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ssh-keygen"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do {
            try process.run()
        } catch {
            return (127, "cannot run ssh-keygen (install openssh-client): \(error)")
        }
        if let input {
            // A reader that exited early (ssh-keygen missing, `env` failing) must not kill idaudit with SIGPIPE: the
            // write then fails with EPIPE, and the exit status tells what happened.
            signal(SIGPIPE, SIG_IGN)
            // Written on a thread of its own: an input larger than the pipe's buffer must not block the read.
            Thread {
                try? stdin.fileHandleForWriting.write(contentsOf: input)
                try? stdin.fileHandleForWriting.close()
            }.start()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let status = process.terminationStatus
        let message = text.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? " " : String(scalar)
        }.joined()
        if status == 127 {
            return (127, "cannot run ssh-keygen (install openssh-client): \(message)")
        }
        return (status, message.isEmpty ? "exit \(status)" : message)
    }
}
