import ArgumentParser
import IDAuditCore
import IDAuditStore

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the scans recorded in the store, with their excess new, persisting and resolved.",
        discussion: """
            Every scan is recorded: when, the rules' sha256, profiles, excess identifiers, and how they compare \
            with the previous scan under the same rules (new, persisting, resolved), and reintroduced: identifiers an \
            earlier apply deleted at Segment, active again (event replays do this). plan.json lists the new and \
            resolved identifiers of each run.
            """)

    @Option(help: "The SQLite store.")
    var store = "idaudit.sqlite"

    func run() throws {
        try reportingFailures {
            let db = try ProfileStore.openExisting(path: store)
            let runs = try db.runs()
            guard !runs.isEmpty else {
                print("no scan recorded in \(store) yet")
                return
            }
            print(
                "run  at                           rules         profiles     excess        new  persisting   resolved"
                    + "  reintroduced")
            for r in runs {
                var line = Terminal.pad(String(r.id), 4) + " " + Terminal.pad(r.at.description, 28) + " "
                line += Terminal.pad(String(r.rulesSHA256.prefix(12)), 12) + " "
                line += Terminal.padLeft(Terminal.count(r.profiles), 9) + " " + Terminal.padLeft(Terminal.count(r.excess), 10)
                if r.previousRunID != nil {
                    line += " " + Terminal.padLeft(Terminal.count(r.new), 10) + " "
                    line += Terminal.padLeft(Terminal.count(r.persisting), 11) + " " + Terminal.padLeft(Terminal.count(r.resolved), 10)
                    line += " " + Terminal.padLeft(Terminal.count(r.reintroduced), 13)
                } else {
                    line += "  (first run with these rules)"
                    if r.reintroduced > 0 { line += ", \(Terminal.count(r.reintroduced)) reintroduced" }
                }
                print(line)
            }
        }
    }
}
