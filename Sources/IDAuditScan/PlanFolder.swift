import IDAuditCSV
import IDAuditCore

/// The one writer of a plan folder's `plan.csv` and `plan.json`, for every source: lines are written as they arrive
/// to temporary files, renamed into place at the end (plan.csv first, so a `--previous` comparison can read it before
/// plan.json's history is written), and `summary.json` last, which completes the folder.
final class PlanOutput {
    let dir: String
    private let csv: OutputFile
    private let json: OutputFile
    private(set) var lines = 0
    private(set) var remediable = 0
    private let suffix: [UInt8]

    init(outDirectory: String, stamp: PlanStamp, header: [(String, String)], assumptions: Bool = true) throws {
        suffix = stamp.recordSuffix
        try makeDirectories(outDirectory)
        dir = outDirectory.hasSuffix("/") ? String(outDirectory.dropLast()) : outDirectory
        csv = try OutputFile(path: dir + "/plan.csv")
        json = try OutputFile(path: dir + "/plan.json")
        try csv.writeCSVRecord(PlanLine.csvColumns)
        try json.write("{\n\"format\":\"\(PlanJSON.format)\",\n")
        for (key, value) in header { try json.write("\(JSONText.quote(key)):\(value),\n") }
        if assumptions { try json.write("\"assumptions\":\(Scanner.assumptionsJSON),\n") }
        try json.write("\"groups\":[\n")
    }

    /// The header of a scan's plan.json: the rules and when.
    static func header(rulesPath: String, rules: RuleSet, now: Instant) -> [(String, String)] {
        [
            ("rules_file", JSONText.quote(rulesPath)), ("rules_sha256", "\"\(rules.sha256)\""),
            ("generated_at", "\"\(now)\""),
        ]
    }

    /// Adds a line: its plan.csv record (without the stamp) and its plan.json entry
    /// (``PlanLine/jsonEntry(_:limit:counted:kept:)``), which opens a group when the line's rank is 1.
    func add(
        csvRecord: some Sequence<UInt8>, json entry: some Sequence<UInt8>, remediable isRemediable: Bool, rank: Int
    ) throws {
        try csv.write(bytes: csvRecord)
        try csv.write(bytes: suffix)
        try json.write(PlanJSON.separator(before: lines, opensGroup: rank == 1))
        try json.write(bytes: entry)
        lines += 1
        if isRemediable { remediable += 1 }
    }

    /// Puts plan.csv in place.
    func commitCSV() throws {
        try csv.commit()
    }

    /// Ends plan.json, with the run's history (this run, what it was compared with, and the new, resolved and
    /// reintroduced identifiers) when there is one, and puts it in place.
    func commitJSON(history run: ScanRun?, previousFolder: String?) throws {
        try json.write(PlanJSON.end(entries: lines))
        guard let run else {
            try json.write("\n}\n")
            try json.commit()
            return
        }
        try json.write(",\n\"history\":{\"run\":\(run.id),")
        if let previousFolder {
            try json.write("\"compared_with_folder\":\(JSONText.quote(previousFolder))")
        } else {
            try json.write("\"compared_with_run\":" + (run.previousRunID.map(String.init) ?? "null"))
        }
        let lists =
            (run.previousRunID != nil ? [("new", run.newIdentifiers), ("resolved", run.resolvedIdentifiers)] : [])
            + [("reintroduced", run.reintroducedIdentifiers)]
        for (name, list) in lists {
            try json.write(",\n\"\(name)\":[")
            for (i, id) in list.enumerated() {
                try json.write((i == 0 ? "" : ",") + "{\"type\":\(JSONText.quote(id.type)),\"value\":\(JSONText.quote(id.value))}")
            }
            try json.write("]")
        }
        try json.write("}\n}\n")
        try json.commit()
    }
}

/// The `history` object of `summary.json`: the run compared with the previous one (a store run, or `--previous`).
enum HistoryJSON {
    static func object(_ run: ScanRun, previousFolder: String?) -> String {
        var out = "{\"run\": \(run.id), "
        if let previousFolder {
            out += "\"compared_with_folder\": \(JSONText.quote(previousFolder)), "
        } else {
            out += "\"compared_with_run\": \(run.previousRunID.map(String.init) ?? "null"), "
        }
        out += "\"new\": \(run.new), \"persisting\": \(run.persisting), \"resolved\": \(run.resolved), "
        return out + "\"reintroduced\": \(run.reintroduced)}"
    }
}

/// The `caps` object of `summary.json`: per system cap, the cap and the profiles at or over it and near it.
enum CapsJSON {
    static func object(_ caps: [CapCount]) -> String {
        "{" + caps.map {
            "\(JSONText.quote($0.name)): {\"cap\": \($0.cap), \"at_or_over\": \($0.atOrOver), \"near\": \($0.near)}"
        }.joined(separator: ", ") + "}"
    }
}

/// `summary.json`, for every source: the source's own keys, the counts, then `extra` (the evaluation, the history and
/// the caps, as the source has them).
enum SummaryJSON {
    static func text(
        source: [(String, String)], totals: ScanTotals, planLines: Int, remediable: Int, rulesSHA256: String?,
        now: Instant, extra: [(String, String)] = []
    ) -> String {
        var out = "{\n  \"format\": \"idaudit-summary/1\",\n  \"generated_at\": \"\(now)\",\n"
        for (key, value) in source { out += "  \(JSONText.quote(key)): \(value),\n" }
        if let rulesSHA256 { out += "  \"rules_sha256\": \"\(rulesSHA256)\",\n" }
        out += "  \"profiles\": \(totals.profiles),\n"
        out += "  \"active_identifiers\": \(totals.identifiers),\n"
        out += "  \"profiles_in_violation\": \(totals.profilesInViolation),\n"
        out += "  \"excess_identifiers\": \(planLines),\n"
        out += "  \"remediable\": \(remediable),\n"
        for (key, value) in extra { out += "  \(JSONText.quote(key)): \(value),\n" }
        out += "  \"not_remediable\": \(planLines - remediable),\n"
        out += "  \"excess\": [\n"
        out += totals.excess.map {
            "    {\"type\": \(JSONText.quote($0.type)), \"reason\": \"\($0.reason.rawValue)\", \"count\": \($0.count), "
                + "\"remediable\": \($0.remediable)}"
        }.joined(separator: ",\n")
        out += (totals.excess.isEmpty ? "" : "\n") + "  ]\n}\n"
        return out
    }
}
