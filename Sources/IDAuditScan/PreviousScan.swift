import Foundation
import IDAuditCSV
import IDAuditCore

/// `--previous DIR`: this scan's excess compared with a previous scan's output folder (last night's CI artifact),
/// for sources that keep no history of their own (an export scanned once, an engine) or as the explicit reference.
///
/// The classes are the store's: new, persisting, resolved (identifiers compared by bytes of type and value). A
/// previous folder made with other rules is not compared: its excess answers another question.
public enum PreviousScan {
    /// Why a previous folder cannot be compared.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        /// What is wrong.
        public var message: String
        public var description: String { message }
    }

    /// Compares the plan at `currentPlan` with the one in `folder`: this run's record and the previous one's.
    ///
    /// - Throws: ``Problem`` when the folder holds no plan, or one made with other rules.
    public static func compare(
        currentPlan: String, previousFolder folder: String, rulesSHA256: String, profiles: Int, at: Instant
    ) throws -> (run: ScanRun, previous: ScanRun) {
        let dir = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        let previous = try excess(planPath: dir + "/plan.csv")
        let previousRules = previous.rules ?? summaryRules(dir + "/summary.json")
        if let previousRules, previousRules != rulesSHA256 {
            throw Problem(
                message: "--previous \(folder): that scan used other rules (sha256 \(previousRules.prefix(12))…, now "
                    + "\(rulesSHA256.prefix(12))…): its excess answers another question; not compared")
        }
        let current = try excess(planPath: currentPlan)
        var a = current.identifiers.makeIterator()
        var b = previous.identifiers.makeIterator()
        let comparison = RunComparison.compare(current: { a.next() }, previous: { b.next() })
        let run = ScanRun(
            id: 0, at: at, rulesSHA256: rulesSHA256, profiles: profiles, excess: current.identifiers.count,
            new: comparison.new.count, persisting: comparison.persisting, resolved: comparison.resolved.count,
            previousRunID: 0, newIdentifiers: comparison.new, resolvedIdentifiers: comparison.resolved)
        let before = ScanRun(
            id: 0, at: previous.generatedAt ?? at, rulesSHA256: previousRules ?? rulesSHA256, profiles: 0,
            excess: previous.identifiers.count, new: 0, persisting: 0, resolved: 0)
        return (run, before)
    }

    /// A plan's excess identifiers in (type, value) byte order, and its stamp when it has one (older plans do not).
    static func excess(planPath: String) throws -> (identifiers: [ExcessIdentifier], rules: String?, generatedAt: Instant?) {
        let reader: CSVReader
        do {
            reader = try CSVReader(path: planPath)
        } catch {
            throw Problem(message: "--previous: \(planPath): \(error.message)")
        }
        guard try reader.next() else { throw Problem(message: "--previous: \(planPath) is empty") }
        let header = reader.allFields().map { $0.lowercased() }
        guard let type = header.firstIndex(of: "type"), let value = header.firstIndex(of: "value") else {
            throw Problem(message: "--previous: \(planPath) is not a plan (no type and value columns)")
        }
        let rulesColumn = header.firstIndex(of: "rules_sha256")
        let timeColumn = header.firstIndex(of: "generated_at")
        var identifiers: [ExcessIdentifier] = []
        var rules: String?
        var generatedAt: Instant?
        while try reader.next() {
            guard reader.fieldCount > max(type, value) else {
                throw Problem(message: "\(planPath):\(reader.line): \(reader.fieldCount) fields; the header has more")
            }
            identifiers.append(ExcessIdentifier(type: reader.string(at: type) ?? "", value: reader.string(at: value) ?? ""))
            if rules == nil, let rulesColumn { rules = reader.string(at: rulesColumn) }
            if generatedAt == nil, let timeColumn { generatedAt = reader.string(at: timeColumn).flatMap { Instant(parsing: $0) } }
        }
        identifiers.sort {
            ByteOrder.equal($0.type, $1.type) ? ByteOrder.less($0.value, $1.value) : ByteOrder.less($0.type, $1.type)
        }
        return (identifiers, rules, generatedAt)
    }

    private static func summaryRules(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["rules_sha256"] as? String
    }
}
