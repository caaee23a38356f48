import ArgumentParser
import IDAuditDeletion

/// Who may approve: the allowed-signers file `apply` and `erase` check approvals against.
struct SignerOptions: ParsableArguments {
    @Option(
        help: """
            Refuse an approval not signed (approve --sign-with) by a key this file lists for its approved_by \
            (ssh-keygen's allowed-signers format; default: $XDG_CONFIG_HOME/idaudit/allowed_signers, else \
            ~/.config/idaudit/allowed_signers, when it exists).
            """)
    var allowedSigners: String?
}
