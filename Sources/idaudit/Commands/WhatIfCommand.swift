import ArgumentParser
import IDAuditRules
import IDAuditScan
import IDAuditStore

struct WhatIfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "Compare two rule sets on the same store, without writing a plan.",
        discussion: """
            Segment applies identity-resolution rules to new data only and warns against tightening them once \
            profiles exist outside the new bounds. whatif shows, per identifier type, how many profiles and \
            identifiers each rule set puts in excess and the difference, before anyone changes a rule:

              idaudit whatif --store idaudit.sqlite --rules rules/current.yaml \\
                  --rules rules/proposed.yaml
            """)

    @Option(help: "The SQLite store.")
    var store = "idaudit.sqlite"

    @Option(help: "Twice: the current rules file, then the proposed one.")
    var rules: [String] = []

    func validate() throws {
        guard rules.count == 2 else {
            throw ValidationError("give --rules twice: the current rules file, then the proposed one")
        }
    }

    func run() throws {
        try reportingFailures {
            let started = Clock.monotonic()
            let current = try RulesLoader.load(path: rules[0])
            let proposed = try RulesLoader.load(path: rules[1])
            let db = try ProfileStore.openExisting(path: store)
            let report = try WhatIf.compare(
                store: db, current: current, proposed: proposed,
                progress: { Terminal.progress("evaluated \(Terminal.count($0)) profiles", count: $0) })
            Terminal.endProgress()
            print(report.render(currentName: rules[0], proposedName: rules[1]), terminator: "")
            print("in \(Terminal.seconds(Clock.monotonic() - started))")
        }
    }
}
