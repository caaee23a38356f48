/// The plan's two line formats: a `plan.csv` record and a `plan.json` object with the rationale.
extension PlanLine {
    /// The first columns of `plan.csv`, fixed by the interface; more columns follow.
    public static let requiredColumns = ["segment_id", "type", "value", "reason", "rank", "lookup_user_id", "remediable"]
    /// Every column of `plan.csv`, in order.
    public static let csvColumns = requiredColumns + ["first_seen", "seq", "limit", "frequency", "matched"]

    /// The fields of this line's `plan.csv` record, in ``csvColumns`` order.
    public var csvFields: [String] {
        [
            segmentID, type, value, reason.rawValue, String(rank), lookupUserID, remediable ? "true" : "false",
            firstSeen.description, String(seq), limit.map { String($0.limit) } ?? "", limit?.frequency.rawValue ?? "",
            matched ?? "",
        ]
    }

    /// This line as one `plan.csv` record (RFC 4180 quoting where needed), without the line ending.
    public var csvRecord: String {
        csvFields.map(CSVText.escape).joined(separator: ",")
    }

    /// This line as a `plan.json` object, with its rationale: the limit and window (or the blocked entry), how many
    /// identifiers of the type count toward the limit, and the values kept.
    public func jsonObject(counted: Int, kept: [String]) -> String {
        var out = jsonPrefix
        switch reason {
        case .blocked:
            out += "\"matched\":\(JSONText.quote(matched ?? ""))"
        case .limit:
            if let limit {
                out += "\"limit\":\(limit.limit),\"frequency\":\"\(limit.frequency.rawValue)\""
                if let window = limit.frequency.window { out += ",\"window_seconds\":\(window / 1_000_000)" }
                out += ","
            }
            out += "\"counted\":\(counted)"
        case .requested:
            out += "\"requested\":true"
        }
        out += ",\"kept\":" + JSONText.encodeStrings(kept) + "}}"
        return out
    }

    /// A `requested` line as a `plan.json` object: its rationale is the request (the line of the request file and
    /// the user's note).
    public func jsonObject(requestLine: Int, note: String?) -> String {
        var out = jsonPrefix + "\"requested\":true,\"request_line\":\(requestLine)"
        if let note { out += ",\"note\":\(JSONText.quote(note))" }
        return out + "}}"
    }

    private var jsonPrefix: String {
        var out = "{\"segment_id\":\(JSONText.quote(segmentID)),\"type\":\(JSONText.quote(type))"
        out += ",\"value\":\(JSONText.quote(value)),\"reason\":\"\(reason.rawValue)\",\"rank\":\(rank)"
        out += ",\"lookup_user_id\":\(JSONText.quote(lookupUserID)),\"remediable\":\(remediable)"
        out += ",\"first_seen\":\"\(firstSeen)\",\"seq\":\(seq),\"rationale\":{"
        return out
    }
}

/// RFC 4180 field quoting.
public enum CSVText {
    /// `field`, quoted when it holds a comma, a quote, CR or LF.
    public static func escape(_ field: String) -> String {
        guard field.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) else { return field }
        var out = "\""
        for c in field.unicodeScalars {
            if c == "\"" { out += "\"\"" } else { out.unicodeScalars.append(c) }
        }
        return out + "\""
    }
}
