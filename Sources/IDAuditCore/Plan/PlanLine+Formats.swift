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

    // MARK: - plan.json (idaudit-plan/2)
    //
    // plan.json lists groups: one per profile and type with deletions, holding what is common to its lines once
    // (the profile, the type, the lookup user_id, the limit, how many identifiers count toward it and the values
    // kept) and then its lines, each with what is its own. A group opens at its first line (rank 1).

    /// The opening of this line's group, for the group's first line: profile, type, lookup and the rationale (the
    /// limit and window when the group has limit lines, `counted` and `kept` when given), up to its `"lines":[`.
    public func jsonGroupOpening(limit groupLimit: IdentifierLimit?, counted: Int?, kept: [String]?) -> String {
        var out = ""
        out.reserveCapacity(segmentID.utf8.count + lookupUserID.utf8.count + 96)
        out += "{\"segment_id\":"
        out += JSONText.quote(segmentID)
        out += ",\"type\":"
        out += JSONText.quote(type)
        out += ",\"lookup_user_id\":"
        out += JSONText.quote(lookupUserID)
        if let groupLimit {
            out += ",\"limit\":\(groupLimit.limit),\"frequency\":\"\(groupLimit.frequency.rawValue)\""
            if let window = groupLimit.frequency.window { out += ",\"window_seconds\":\(window / 1_000_000)" }
        }
        if let counted { out += ",\"counted\":\(counted)" }
        if let kept { out += ",\"kept\":" + JSONText.encodeStrings(kept) }
        out += ",\"lines\":[\n"
        return out
    }

    /// This line's own object in its group: value, reason, rank, remediable, first_seen, seq, and the blocked entry
    /// it matched.
    public var jsonObject: String {
        var out = jsonPrefix
        if reason == .blocked {
            out += ",\"matched\":"
            out += JSONText.quote(matched ?? "")
        }
        out += "}"
        return out
    }

    /// A `requested` line's own object: its rationale is the request (the line of the request file and the user's
    /// note).
    public func jsonObject(requestLine: Int, note: String?) -> String {
        var out = jsonPrefix
        out += ",\"request_line\":"
        out += String(requestLine)
        if let note {
            out += ",\"note\":"
            out += JSONText.quote(note)
        }
        out += "}"
        return out
    }

    private var jsonPrefix: String {
        // Appended piece by piece into one reserved string: this runs for every line of every plan.
        var out = ""
        out.reserveCapacity(value.utf8.count + 120)
        out += "{\"value\":"
        out += JSONText.quote(value)
        out += ",\"reason\":\""
        out += reason.rawValue
        out += "\",\"rank\":"
        out += String(rank)
        out += remediable ? ",\"remediable\":true" : ",\"remediable\":false"
        out += ",\"first_seen\":\""
        out += firstSeen.description
        out += "\",\"seq\":"
        out += String(seq)
        return out
    }

    /// This line as plan.json has it: its object, preceded by its group's opening when it is the group's first line
    /// (rank 1). ``PlanJSON`` puts the separators between them.
    public func jsonEntry(_ object: String, limit groupLimit: @autoclosure () -> IdentifierLimit?, counted: Int?, kept: [String]?) -> String {
        rank == 1 ? jsonGroupOpening(limit: groupLimit(), counted: counted, kept: kept) + object : object
    }
}

/// The layout of plan.json's `groups` around the entries ``PlanLine/jsonEntry(_:limit:counted:kept:)`` renders.
public enum PlanJSON {
    /// The format's name.
    public static let format = "idaudit-plan/2"
    /// What goes before an entry: closing the previous group when this one opens a group, else a line separator.
    public static func separator(before entryIndex: Int, opensGroup: Bool) -> String {
        entryIndex == 0 ? "" : opensGroup ? "]},\n" : ",\n"
    }
    /// What closes the list after `entries` entries.
    public static func end(entries: Int) -> String { entries == 0 ? "\n]" : "]}\n]" }
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
    /// Each plan line's plan.json entry (``PlanLine/jsonEntry(_:limit:counted:kept:)``): its object, opened by its
    /// group with the type's rationale (limit, counted, kept) at the group's first line; in line order.
    public var jsonLines: [String] {
        var json: [String] = []
        json.reserveCapacity(lines.count)
        var outcome = types.startIndex
        for (i, line) in lines.enumerated() {
            // Lines and outcomes are both in type order.
            while outcome < types.endIndex, types[outcome].type != line.type { outcome += 1 }
            let rationale = outcome < types.endIndex ? types[outcome] : nil
            json.append(
                line.jsonEntry(
                    line.jsonObject,
                    limit: lines[i...].prefix { ByteOrder.equal($0.type, line.type) }.first { $0.reason == .limit }?.limit,
                    counted: rationale?.counted ?? 0, kept: rationale?.kept ?? []))
        }
        return json
    }
}
