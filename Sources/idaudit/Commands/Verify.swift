import ArgumentParser
import Foundation
import IDAuditCSV
import IDAuditDeletion
import IDAuditStore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that every identifier apply deleted at Segment is gone from the store.",
        discussion: """
            Run it after the next Profiles Sync export was ingested (idaudit ingest), or against the store the \
            emulator serves. Each line the journal records as done is looked up:
              confirmed          no longer active
              came back          active again after its REMOVED row:
                                 reintroduced (event replays re-add deleted
                                 identifiers, and so can events sent within 5
                                 minutes of the deletion)
              not yet reflected  still active, no REMOVED row yet (Profiles Sync
                                 syncs hourly)
            Exits 1 when any came back, or when lines of the plan were not known to be deleted (failed, without an \
            answer, unconfirmed, never sent); 0 otherwise. Writes verify-report.json beside the plan.

            Example:
              idaudit ingest export-2026-11-24/ --store idaudit.sqlite
              idaudit verify reports/2026-11-23/plan.csv --store idaudit.sqlite
            """)

    @Argument(help: "The applied plan.csv.")
    var plan: String

    @Option(help: "The SQLite store, with an export newer than the apply ingested.")
    var store = "idaudit.sqlite"

    @Option(help: "The journal its apply used (default: every destination's journal in the state folder).")
    var journal: String?

    @Option(help: "Only this Segment space (default: the one the plan was applied to).")
    var space: String?

    @Option(
        help: """
            The destination to verify, as apply-report.json names it, when the plan was applied to several (a \
            rehearsal and the real space): a store holds one space's profiles.
            """)
    var destination: String?

    func run() throws {
        try reportingFailures {
            let planFile = try PlanFile.read(path: plan)
            guard FileManager.default.fileExists(atPath: store) else {
                throw CommandError(
                    "no store at \(store): verify looks the deleted identifiers up in the store that ingested a newer "
                        + "export; pass --store with the store `idaudit ingest` wrote (for a rehearsal, the store the "
                        + "emulator serves)")
            }
            let db = try ProfileStore.openExisting(path: store)
            var paths: [String] = []
            if let journal {
                paths = [journal]
            } else {
                paths = try JournalHome().recordedJournals()
                let legacy = Journal.legacyPath(besideStore: store)
                if FileManager.default.fileExists(atPath: legacy) { paths.append(legacy) }
            }
            let journals = try paths.map { try Journal(path: $0) }
            let report = try Verifier.verify(
                plan: planFile, store: db, journals: journals, space: space, destination: destination)
            guard !report.destinations.isEmpty else {
                throw CommandError(
                    "\(plan) was not applied to Segment according to "
                        + (paths.isEmpty ? "any journal (none yet in the state folder)" : paths.joined(separator: ", "))
                        + ": pass --journal with the journal its apply used (apply-report.json names it)")
            }
            let reportPath = folder(of: plan) + "verify-report.json"
            try OutputFile.write(report.json, to: reportPath)
            print(
                "verified \(plan) at \(report.destinations.joined(separator: ", ")): "
                    + "\(Terminal.count(report.confirmed)) confirmed, \(Terminal.count(report.cameBack.count)) came back, "
                    + "\(Terminal.count(report.notYetReflected.count)) not yet reflected")
            for item in report.cameBack.prefix(20) {
                print("  came back: line \(item.line) \(item.type):\(item.value)")
            }
            if report.cameBack.count > 20 { print("  ... \(report.cameBack.count - 20) more in \(reportPath)") }
            if report.unconfirmed > 0 {
                print(
                    "  \(Terminal.count(report.unconfirmed)) unconfirmed (a 2xx that was not the documented success): "
                        + "not verified, never counted as deleted; apply --retry-unconfirmed sends them again")
            }
            if report.failed > 0 || report.notSent > 0 {
                print(
                    "  not deleted: \(Terminal.count(report.failed)) failed or without an answer, "
                        + "\(Terminal.count(report.notSent)) never sent: run apply again (--retry-failed for the failed)")
            }
            if !report.notYetReflected.isEmpty {
                print("  not yet reflected: ingest a newer export and verify again")
            }
            print("  report: \(reportPath)")
            if !report.cameBack.isEmpty || report.failed > 0 || report.notSent > 0 || report.unconfirmed > 0 {
                throw ExitCode(1)
            }
        }
    }
}
