import ArgumentParser
import IDAuditCSV
import IDAuditCore
import IDAuditRules
import IDAuditSQL

struct SQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Print the whole scan as one SQL script, to run inside your warehouse.",
        discussion: """
            Run inside the engine against SCHEMA.id_graph_updates and SCHEMA.external_id_mapping_updates (the \
            Profiles Sync tables), the script creates the schema --into if missing and (re)creates in it:
              idaudit_plan       the plan: plan.csv's columns and text (unload it to
                                 CSV, then approve and apply it as usual)
              idaudit_summary    metric, type, reason, count, remediable: profiles,
                                 active_identifiers, profiles_in_violation, and
                                 excess per type and reason
              idaudit_histogram  type, counted, profiles: identifiers per profile
                                 counted toward the limit
              idaudit_kept       the values kept beside each (profile, type) with
                                 deletions (plan.json's rationale)
              idaudit_offenders  the active identifiers of the 20 profiles with the
                                 most excess (the report)
              idaudit_caps       cap, profile, n: profiles at or near Segment's
                                 system caps (merges, identifier mappings), from
                                 90% of the cap (rules' caps:, else Segment's)

            Everything is computed in the engine, partitioned by profile: merges (a cycle stops the script with \
            an error naming a segment), REMOVED rows, duplicates, protected and blocked values, ever and windowed \
            limits (a fold over each profile's values; a recursive CTE on Redshift), the lookup user_id, \
            remediable and rank. The rules are data in the script. Blocked patterns are ICU; a pattern this engine cannot match identically is \
            refused, naming it and why. Intermediate results are temporary tables; the result tables are written \
            last (in one transaction where DDL is transactional).

            Dialects: postgres, redshift, snowflake, bigquery, spark (databricks), duckdb, clickhouse. \
            Times are read in UTC; an empty timestamp falls back to received_at; columns may be typed \
            (timestamps, integer seq) or text. --without-operation / --without-received-at for tables that lack \
            those columns.

            Examples:
              idaudit sql --dialect snowflake --rules rules/segment-recommended.yaml \\
                  --schema PROFILES_SYNC --into IDAUDIT > idaudit.sql
              idaudit sql --dialect databricks --rules rules.yaml \\
                  --schema main.profiles_sync --into main.idaudit
            """)

    @Option(help: "The engine: \(SQLDialect.names.joined(separator: ", ")).")
    var dialect: SQLDialect

    @Option(help: "The rules file (YAML).")
    var rules: String

    @Option(help: "The schema holding the Profiles Sync tables.")
    var schema = "profiles_sync"

    @Option(help: "The schema the result tables go to.")
    var into = "idaudit"

    @Option(help: "Write the script to this file instead of stdout.")
    var out: String?

    @Flag(help: "The mapping table has no __operation column (every row is CREATED).")
    var withoutOperation = false

    @Flag(help: "The mapping table has no received_at column.")
    var withoutReceivedAt = false

    @Flag(help: "The graph table has no timestamp column (otherwise a row whose timestamp is not a time stops the script).")
    var withoutGraphTimestamp = false

    @Option(help: "Rounds of pointer jumping for merge chains: N rounds follow chains of up to 2^N merges.")
    var mergeRounds = PlanScript.defaultMergeRounds

    func validate() throws {
        guard (1...30).contains(mergeRounds) else { throw ValidationError("--merge-rounds takes 1 to 30") }
    }

    func run() throws {
        try reportingFailures {
            var options = PlanScript.Options(dialect: dialect, sourceSchema: schema, targetSchema: into)
            options.hasOperation = !withoutOperation
            options.hasReceivedAt = !withoutReceivedAt
            options.graphHasTimestamp = !withoutGraphTimestamp
            options.mergeRounds = mergeRounds
            let ruleSet = try RulesLoader.load(path: rules)
            let script = try PlanScript(rules: ruleSet, options: options)
            let text =
                "-- idaudit scan as \(options.dialect.displayName) SQL: rules \(printable(rules)) (sha256 \(ruleSet.sha256)), "
                + "source \(schema), results \(into)\n" + script.text
            if let out {
                try OutputFile.write(text, to: out)
            } else {
                print(text, terminator: "")
            }
        }
    }

    /// A path as the script's comment may hold it: printable ASCII, anything else as `?`.
    func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : "?" }))
    }
}

/// `--dialect` reads a name of the registry (an alias included: `databricks`).
extension SQLDialect: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { names }
}
