/// Where a plan comes from, written into every `plan.csv` record so that it is bound to the plan's bytes.
///
/// `apply` judges a plan's age by ``generatedAt`` and an approval names the plan's sha256: the time a plan was made
/// cannot be moved without changing the bytes the approval names, and no neighbouring file (a `summary.json`, the
/// file's mtime) is ever asked. The two columns repeat on every record, so a warehouse that unloads the plan table
/// to CSV keeps them (a comment line or a side file would not survive an unload).
public struct PlanStamp: Sendable, Equatable {
    /// The columns the stamp adds after a line's own columns.
    public static let columns = ["generated_at", "rules_sha256"]

    /// When the plan was computed (the scan's time).
    public var generatedAt: Instant
    /// The sha256 of the rules file the plan was computed with (empty for a request plan made without rules).
    public var rulesSHA256: String

    /// Creates a stamp.
    public init(generatedAt: Instant, rulesSHA256: String) {
        self.generatedAt = generatedAt
        self.rulesSHA256 = rulesSHA256
    }

    /// The bytes that end every record of the plan: `,<generated_at>,<rules_sha256>\n`.
    public var recordSuffix: [UInt8] {
        Array(("," + generatedAt.description + "," + CSVText.escape(rulesSHA256) + "\n").utf8)
    }
}
