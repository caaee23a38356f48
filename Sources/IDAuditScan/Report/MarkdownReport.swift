import IDAuditCore
import IDAuditStore

/// `report.md`: the report's headline and tables, for a ticket or a pull request.
public enum MarkdownReport {
    /// Renders the report.
    public static func render(_ d: ReportData) -> String {
        let n = NumberText.grouped
        var m = "# Identity graph audit: \(d.generatedAt.description.prefix(19))Z\n\n"
        m += "\(d.source) · rules `\(d.rulesPath)` (sha256 `\(d.rules.sha256.prefix(12))…`)"
        if let run = d.run, run.id > 0 { m += " · run \(run.id)" }
        if d.redacted { m += " · identifier values redacted (`#` + first 10 hex of sha256)" }
        m += "\n\n| | |\n|---|---|\n"
        m += "| Profiles scanned | \(n(d.totals.profiles)) (\(n(d.totals.identifiers)) active identifiers) |\n"
        m += "| Profiles in violation | \(n(d.totals.profilesInViolation)) |\n"
        m += "| Identifiers to delete | \(n(d.excess)): \(n(d.remediable)) remediable, \(n(d.excess - d.remediable)) not |\n"
        if let run = d.run, let change = d.excessChange {
            m += "| \(d.previousLabel) | \(change > 0 ? "+" : "")\(n(change)): \(n(run.new)) new, "
            m += "\(n(run.persisting)) persisting, \(n(run.resolved)) resolved, \(n(run.reintroduced)) reintroduced |\n"
        } else if d.run != nil {
            m += "| Since last run | first run with these rules |\n"
        } else {
            m += "| Since last run | no history: give --previous DIR (the last scan's folder) |\n"
        }
        if !d.totals.excess.isEmpty {
            m += "\n## Excess by type and reason\n\n| type | reason | excess | remediable |\n|---|---|---:|---:|\n"
            for e in d.totals.excess {
                m += "| \(cell(e.type)) | \(e.reason.rawValue) | \(n(e.count)) | \(n(e.remediable)) |\n"
            }
        }
        if !d.offenders.isEmpty {
            m += "\n## Top \(d.offenders.count) offending profiles\n\n| # | profile | to delete | identifiers | lookup user_id |\n"
            m += "|---:|---|---:|---:|---|\n"
            for (i, o) in d.offenders.enumerated() {
                m += "| \(i + 1) | `\(o.canonicalID)` | \(o.excess) | \(o.rows.count) | "
                m += (o.lookupUserID.isEmpty ? "none (not remediable)" : "`\(cell(o.lookupUserID))`") + " |\n"
            }
        }
        if !d.caps.isEmpty {
            m += "\n## Segment's system limits\n\n| limit | cap | profiles at or over | near (90%+) |\n|---|---:|---:|---:|\n"
            for c in d.caps { m += "| \(c.name) | \(n(c.cap)) | \(n(c.atOrOver)) | \(n(c.near)) |\n" }
        }
        m += "\n## Rules\n\n| identifier type | limit |\n|---|---|\n"
        for type in d.rules.limits.keys.sorted() {
            m += "| \(cell(type.string)) | \(d.rules.limits[type]!.summary) |\n"
        }
        if let def = d.rules.defaultLimit { m += "| any other type | \(def.summary) |\n" }
        if !d.rules.blocked.isEmpty {
            m += "\nBlocked: " + d.rules.blocked.map { "`\($0.summary)`" }.joined(separator: ", ") + "\n"
        }
        m += "\nAssumptions: " + Scanner.assumptions.map { "**\($0.0)**: \($0.1)" }.joined(separator: "; ") + ".\n"
        m += "\n## Downstream checklist\n\n"
        for item in DownstreamChecklist.items { m += "- [ ] \(item)\n" }
        return m
    }

    private static func cell(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "|": out += "\\|"
            case "\n", "\r": out += " "
            default: out.append(c)
            }
        }
        return out
    }
}
