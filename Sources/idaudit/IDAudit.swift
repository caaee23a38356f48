import ArgumentParser
import IDAuditStore

@main
struct IDAudit: AsyncParsableCommand {
    /// This release's version; `--version` adds the commit it was built from (`buildCommit`, stamped by the
    /// VersionStamp plugin) and the SQLite library the store runs on.
    static let version = "0.21.0"

    static let configuration = CommandConfiguration(
        commandName: "idaudit",
        abstract: "Audit a customer-data platform's identity graph against its identity-resolution limits.",
        discussion: """
            Segment Unify and Insider One enforce identifier limits ("user_id 1 ever", "anonymous_id 5 weekly") \
            only on new data. Profiles that already break them stay broken. idaudit loads a Profiles Sync export \
            into an embedded SQLite store, scans it against a rules file and writes a remediation plan: the \
            oldest excess identifiers per profile, each with the user_id Segment's Delete Profile Identifier API \
            needs to address it.

            Start here:
              idaudit demo               # sample data -> store -> scan -> reports/demo/
              idaudit sample --profiles 100000 --seed 7 --out export/
              idaudit ingest export/ --store idaudit.sqlite
              idaudit scan --store idaudit.sqlite --rules rules/segment-recommended.yaml
              idaudit explain email:jane@example.com --store idaudit.sqlite \\
                  --rules rules/segment-recommended.yaml

            Then clean up, after review (P = reports/<run>/plan.csv):
              idaudit approve P --by you@example.com --target segment --space spa_...
              idaudit apply P --target segment --space spa_... --canary 20
              idaudit verify P --store idaudit.sqlite    # after the next export
            """,
        version: "idaudit \(version) (commit \(buildCommit), SQLite \(ProfileStore.sqliteVersion))",
        subcommands: [
            Demo.self, Sample.self, Ingest.self, Scan.self, Explain.self, RequestPlan.self, WhatIfCommand.self, History.self,
            SQLCommand.self, Approve.self, Apply.self, Verify.self, Erase.self, Emulate.self,
        ]
    )
}
