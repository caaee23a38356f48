/// The plan's two line formats: a `plan.csv` record and a `plan.json` object with the rationale.
extension PlanLine {
    /// The first columns of `plan.csv`, fixed by the interface; more columns follow.
    public static let requiredColumns = ["segment_id", "type", "value", "reason", "rank", "lookup_user_id", "remediable"]
    /// The columns a line fills, in order: its record, before the plan's ``PlanStamp``.
    public static let lineColumns = requiredColumns + ["first_seen", "seq", "limit", "frequency", "matched"]
    /// Every column of `plan.csv`, in order: the line's own, then the ``PlanStamp``'s.
    public static let csvColumns = lineColumns + PlanStamp.columns

    /// The fields of this line's own part of a `plan.csv` record, in ``lineColumns`` order.
    public var csvFields: [String] {
        [
            segmentID, type, value, reason.rawValue, String(rank), lookupUserID, remediable ? "true" : "false",
            firstSeen.description, String(seq), limit.map { String($0.limit) } ?? "", limit?.frequency.rawValue ?? "",
            matched ?? "",
        ]
    }

    /// This line's own part of a `plan.csv` record (RFC 4180 quoting where needed): the plan's
    /// ``PlanStamp/recordSuffix`` completes it.
    public var csvRecord: String {
        // Built in one string (this runs for every line of every plan): the same fields as ``csvFields``.
        var out = ""
        out.reserveCapacity(segmentID.utf8.count + value.utf8.count + lookupUserID.utf8.count + 96)
        out += CSVText.escape(segmentID)
        out += ","
        out += CSVText.escape(type)
        out += ","
        out += CSVText.escape(value)
        out += ","
        out += reason.rawValue
        out += ","
        out += String(rank)
        out += ","
        out += CSVText.escape(lookupUserID)
        out += remediable ? ",true," : ",false,"
        out += firstSeen.description
        out += ","
        out += String(seq)
        out += ","
        if let limit {
            out += String(limit.limit)
            out += ","
            out += limit.frequency.rawValue
        } else {
            out += ","
        }
        out += ","
        if let matched { out += CSVText.escape(matched) }
        return out
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
        var out = jsonPrefix
        out += "\"requested\":true,\"request_line\":"
        out += String(requestLine)
        if let note {
            out += ",\"note\":"
            out += JSONText.quote(note)
        }
        out += "}}"
        return out
    }

    private var jsonPrefix: String {
        // Appended piece by piece into one reserved string: this runs for every line of every plan.
        var out = ""
        out.reserveCapacity(segmentID.utf8.count + value.utf8.count + lookupUserID.utf8.count + 200)
        out += "{\"segment_id\":"
        out += JSONText.quote(segmentID)
        out += ",\"type\":"
        out += JSONText.quote(type)
        out += ",\"value\":"
        out += JSONText.quote(value)
        out += ",\"reason\":\""
        out += reason.rawValue
        out += "\",\"rank\":"
        out += String(rank)
        out += ",\"lookup_user_id\":"
        out += JSONText.quote(lookupUserID)
        out += remediable ? ",\"remediable\":true" : ",\"remediable\":false"
        out += ",\"first_seen\":\""
        out += firstSeen.description
        out += "\",\"seq\":"
        out += String(seq)
        out += ",\"rationale\":{"
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

extension ProfileEvaluation {
    /// Each plan line's `plan.json` object, with its type's rationale (counted, kept), in line order.
    public var jsonLines: [String] {
        var json: [String] = []
        json.reserveCapacity(lines.count)
        var outcome = types.startIndex
        for line in lines {
            // Lines and outcomes are both in type order.
            while outcome < types.endIndex, types[outcome].type != line.type { outcome += 1 }
            let rationale = outcome < types.endIndex ? types[outcome] : nil
            json.append(line.jsonObject(counted: rationale?.counted ?? 0, kept: rationale?.kept ?? []))
        }
        return json
    }
}
