import ArgumentParser
import IDAuditRules
import IDAuditScan
import IDAuditStore

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show why an identifier is (or is not) in the plan.",
        discussion: """
            Prints the canonical profile that holds TYPE:VALUE, its merge chain, all its identifiers in time \
            order with first_seen and kept / excess / blocked / protected, and the lookup user_id a deletion \
            through Segment's API is addressed by.

            TYPE segment_id explains the profile a segment id belongs to (merged or canonical): the way to find the \
            user_id to address a profile known only by its segment id. An identifier that is no longer active \
            (its latest row is REMOVED) is shown with its rows.

            Examples:
              idaudit explain email:jane@example.com --rules rules/segment-recommended.yaml
              idaudit explain segment_id:use_2XbtNJArKwRzdVHiLvLOQT8Wv2F \\
                  --rules rules/segment-recommended.yaml
            """)

    @Argument(help: "The identifier, as TYPE:VALUE (split at the first colon).")
    var identifier: String

    @Option(help: "The SQLite store.")
    var store = "idaudit.sqlite"

    @Option(help: "The rules file (YAML).")
    var rules: String

    func validate() throws {
        guard let colon = identifier.firstIndex(of: ":"), colon != identifier.startIndex,
            identifier.index(after: colon) != identifier.endIndex
        else {
            throw ValidationError("expected TYPE:VALUE, such as email:jane@example.com or user_id:u123")
        }
    }

    func run() throws {
        try reportingFailures {
            let colon = identifier.firstIndex(of: ":")!
            let type = String(identifier[..<colon])
            let value = String(identifier[identifier.index(after: colon)...])
            let ruleSet = try RulesLoader.load(path: rules)
            let db = try ProfileStore.openExisting(path: store)
            guard let explanation = try Explainer.explain(type: type, value: value, store: db, rules: ruleSet) else {
                Terminal.warn(
                    type == "segment_id"
                        ? "idaudit: segment id \(value) is not in \(store)"
                        : "idaudit: \(type):\(value) is not in \(store) (no mapping row has this type and value)")
                throw ExitCode(1)
            }
            print(explanation.render(), terminator: "")
        }
    }
}
