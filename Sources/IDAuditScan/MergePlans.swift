import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditStore

/// A set of shard plans that cannot be merged.
public struct MergePlansError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}

/// `merge-plans`: N shard folders (`scan --shard i/N`) into one plan, byte for byte the plan an unsharded scan writes.
///
/// Each shard's `plan.csv` is sorted (segment_id, type, rank) and the shards hold disjoint profiles, so a k-way merge
/// on that key restores the unsharded order; `plan.json` lines travel with their `plan.csv` records. The shards must
/// be 1/N ... N/N of one N, scanned with the same rules.
public enum MergePlans {
    /// Merges the shard folders into `outDirectory`.
    public static func run(folders: [String], outDirectory: String, now: Instant) throws -> SourceScanResult {
        guard !folders.isEmpty else { throw MergePlansError(message: "no shard folders given") }
        var shards: [ShardPlan] = []
        for folder in folders { shards.append(try ShardPlan(folder: folder)) }
        let counts = Set(shards.map(\.shard.count))
        let rules = Set(shards.map(\.rulesSHA256))
        guard counts.count == 1, let n = counts.first else {
            throw MergePlansError(message: "the shards come from different splits: " + shards.map(\.shard.description).joined(separator: ", "))
        }
        guard rules.count == 1 else { throw MergePlansError(message: "the shards were scanned with different rules") }
        let indices = shards.map(\.shard.index).sorted()
        guard indices == Array(1...n) else {
            let missing = Set(1...n).subtracting(indices).sorted().map { "\($0)/\(n)" }
            throw MergePlansError(
                message: missing.isEmpty
                    ? "a shard is given twice: \(indices.map { "\($0)/\(n)" }.joined(separator: ", "))"
                    : "missing shards: \(missing.joined(separator: ", ")) (an unsharded plan needs all \(n))")
        }
        let output = try PlanOutput(
            outDirectory: outDirectory,
            header: [
                ("source", "\"merged\""), ("shards", "\(n)"), ("rules_sha256", "\"\(rules.first!)\""),
                ("generated_at", "\"\(now)\""),
            ])
        var tally = ExcessTally()
        // k-way merge: N is small; pick the least head each time.
        var heads = try shards.map { try $0.next() }
        while true {
            var best: Int?
            for (i, head) in heads.enumerated() {
                guard let head else { continue }
                if let b = best, let current = heads[b], !head.key.less(than: current.key) { continue }
                best = i
            }
            guard let b = best, let line = heads[b] else { break }
            try output.add(csvRecord: line.csv.utf8, json: line.json.utf8, remediable: line.remediable)
            tally.add(type: line.key.type, reason: line.reason, remediable: line.remediable)
            heads[b] = try shards[b].next()
        }
        var totals = ScanTotals()
        for shard in shards {
            totals.profiles += shard.profiles
            totals.identifiers += shard.identifiers
            totals.profilesInViolation += shard.violations
        }
        totals.excess = tally.excess
        let summary = SourceSummary.json(
            source: [("source", "\"merged\""), ("shards", "\(n)")], totals: totals, planLines: output.lines,
            remediable: output.remediable, rulesSHA256: rules.first!, now: now)
        let files = try output.finish(summary: summary)
        return SourceScanResult(
            totals: totals, planLines: output.lines, remediableLines: output.remediable, files: files, summaryJSON: summary)
    }
}

/// One shard's plan, read line by line.
final class ShardPlan {
    struct Key {
        var segmentID: String
        var type: String
        var rank: Int

        func less(than o: Key) -> Bool {
            if !ByteOrder.equal(segmentID, o.segmentID) { return ByteOrder.less(segmentID, o.segmentID) }
            if !ByteOrder.equal(type, o.type) { return ByteOrder.less(type, o.type) }
            return rank < o.rank
        }
    }

    struct Line {
        var key: Key
        var csv: String
        var json: String
        var reason: ExcessReason
        var remediable: Bool
    }

    let folder: String
    let shard: Shard
    let rulesSHA256: String
    let profiles: Int
    let identifiers: Int
    let violations: Int
    private let csv: CSVReader
    private var jsonLines: [Substring].SubSequence

    init(folder: String) throws {
        self.folder = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        let summaryPath = self.folder + "/summary.json"
        let summary = try Self.readText(summaryPath)
        guard let shardText = Self.string("shard", in: summary), let shard = Shard(parsing: shardText) else {
            throw MergePlansError(message: "\(summaryPath): not a shard's summary (no \"shard\": \"i/N\"; scan with --shard)")
        }
        self.shard = shard
        rulesSHA256 = Self.string("rules_sha256", in: summary) ?? ""
        profiles = Self.int("profiles", in: summary) ?? 0
        identifiers = Self.int("active_identifiers", in: summary) ?? 0
        violations = Self.int("profiles_in_violation", in: summary) ?? 0
        do {
            csv = try CSVReader(path: self.folder + "/plan.csv")
        } catch {
            throw MergePlansError(message: "\(self.folder)/plan.csv: \(error.message)")
        }
        guard try csv.next(), csv.allFields() == PlanLine.csvColumns else {
            throw MergePlansError(message: "\(self.folder)/plan.csv: not a plan (its header differs)")
        }
        let json = try Self.readText(self.folder + "/plan.json")
        let all = json.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = all.firstIndex(where: { $0.hasSuffix("\"lines\":[") }) else {
            throw MergePlansError(message: "\(self.folder)/plan.json: no lines array")
        }
        jsonLines = all[(start + 1)...]
    }

    func next() throws -> Line? {
        guard try csv.next() else { return nil }
        let f = csv.allFields()
        guard f.count >= 7, let rank = Int(f[4]), let reason = ExcessReason(rawValue: f[3]),
            var json = jsonLines.popFirst(), json.hasPrefix("{")
        else {
            throw MergePlansError(message: "\(folder)/plan.csv:\(csv.line): plan.csv and plan.json do not match")
        }
        if json.hasSuffix(",") { json = json.dropLast() }
        return Line(
            key: Key(segmentID: f[0], type: f[1], rank: rank), csv: csv.rawRecord(), json: String(json), reason: reason,
            remediable: f[6] == "true")
    }

    static func readText(_ path: String) throws -> String {
        guard let file = fopen(path, "rb") else { throw MergePlansError(message: "\(path): cannot open") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func string(_ key: String, in text: String) -> String? {
        guard let r = text.range(of: "\"\(key)\": \"") ?? text.range(of: "\"\(key)\":\"") else { return nil }
        let rest = text[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    static func int(_ key: String, in text: String) -> Int? {
        guard let r = text.range(of: "\"\(key)\": ") ?? text.range(of: "\"\(key)\":") else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }
}
