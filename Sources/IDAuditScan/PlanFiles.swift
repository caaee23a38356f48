import IDAuditCSV
import IDAuditCore
import IDAuditStore

/// The plan's file formats: `plan.csv` (what `approve` and `apply` read) and `plan.json` (with the rationale).
public enum PlanFiles {
    /// The first columns of `plan.csv`, fixed by the interface; more columns follow.
    public static let requiredColumns = ["segment_id", "type", "value", "reason", "rank", "lookup_user_id", "remediable"]
    /// Every column of `plan.csv`.
    public static let columns = requiredColumns + ["first_seen", "seq", "limit", "frequency", "matched"]

    /// One `plan.csv` record.
    public static func csvFields(_ line: PlanLine) -> [String] {
        [
            line.segmentID, line.type, line.value, line.reason.rawValue, String(line.rank), line.lookupUserID,
            line.remediable ? "true" : "false", line.firstSeen.description, String(line.seq),
            line.limit.map { String($0.limit) } ?? "", line.limit?.frequency.rawValue ?? "", line.matched ?? "",
        ]
    }

    /// One element of `plan.json`'s `lines` array.
    public static func jsonObject(_ stored: StoredPlanLine) -> String {
        let line = stored.line
        var out = "{\"segment_id\":\(JSONText.quote(line.segmentID)),\"type\":\(JSONText.quote(line.type))"
        out += ",\"value\":\(JSONText.quote(line.value)),\"reason\":\"\(line.reason.rawValue)\",\"rank\":\(line.rank)"
        out += ",\"lookup_user_id\":\(JSONText.quote(line.lookupUserID)),\"remediable\":\(line.remediable)"
        out += ",\"first_seen\":\"\(line.firstSeen)\",\"seq\":\(line.seq),\"rationale\":{"
        switch line.reason {
        case .blocked:
            out += "\"matched\":\(JSONText.quote(line.matched ?? ""))"
        case .limit:
            if let limit = line.limit {
                out += "\"limit\":\(limit.limit),\"frequency\":\"\(limit.frequency.rawValue)\""
                if let window = limit.frequency.window { out += ",\"window_seconds\":\(window / 1_000_000)" }
                out += ","
            }
            out += "\"counted\":\(stored.counted)"
        case .requested:
            out += "\"requested\":true"
        }
        out += ",\"kept\":" + JSONText.encodeStrings(stored.kept) + "}}"
        return out
    }
}
