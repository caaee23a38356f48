import Foundation
import IDAuditCSV
import IDAuditCore

/// What `apply` and `erase` share around ``ApplyEngine``: the destination's lock and journal, the report that says a
/// run is going, and the final report. A graceful stop comes through ``ApplyOptions/stopRequest``.
public struct DeletionRun: Sendable {
    /// The plan (or erase file).
    public var plan: PlanFile
    /// The destination.
    public var target: any DeletionTarget
    /// The state folder of journals and destination locks.
    public var home: JournalHome
    /// `--journal`, if given.
    public var journal: String?
    /// Where an earlier idaudit kept the journal.
    public var legacyJournal: String?
    /// Where the report goes.
    public var reportPath: String
    /// `apply` or `erase`, for the lock's holder text.
    public var command: String
    /// Where warnings go (the terminal's standard error).
    public var warn: @Sendable (String) -> Void

    /// A run of `plan` to `target`.
    public init(
        plan: PlanFile, target: any DeletionTarget, home: JournalHome, journal: String?, legacyJournal: String?,
        reportPath: String, command: String, warn: @escaping @Sendable (String) -> Void
    ) {
        self.plan = plan
        self.target = target
        self.home = home
        self.journal = journal
        self.legacyJournal = legacyJournal
        self.reportPath = reportPath
        self.command = command
        self.warn = warn
    }

    /// Runs the plan. The report is written at `reportPath` (a failure to write it is a warning: the run's report
    /// is also in the journal); returns the report and the journal, still locked until the returned locks are
    /// released (the caller's record of the deletions in the store follows the run).
    public func run(options: ApplyOptions) async throws -> (report: ApplyReport, journal: Journal, locks: [JournalLock]) {
        let holder = "idaudit \(command) \(plan.path) to \(target.destination), started \(WallClock.now())"
        let (journalPath, destinationLock) = try home.claim(
            destination: target.destination, journal: journal, legacy: legacyJournal, holder: holder)
        let journalFile = try Journal(path: journalPath)
        let lock = try journalFile.lock(holder: holder)
        writeRunning(journal: journalPath)

        let report = try await ApplyEngine.run(
            plan: plan, target: target, journal: journalFile, options: options, heldLock: lock)
        do {
            try OutputFile.write(report.json, to: reportPath)
        } catch {
            warn(
                "warning: the report could not be written (\(error)); the run's report is in the journal \(journalPath)")
        }
        if !report.canaryLines.isEmpty { writeCanary(report, journal: journalFile) }
        return (report, journalFile, [lock, destinationLock])
    }

    /// Where the canary's lines are listed for review: `canary.csv` beside the report.
    public var canaryPath: String {
        guard let slash = reportPath.lastIndex(of: "/") else { return "canary.csv" }
        return String(reportPath[...slash]) + "canary.csv"
    }

    /// What a line's state says, in words.
    private static func answer(_ state: LineState) -> String {
        switch state.state {
        case .done: state.alreadyAbsent ? "deleted (already gone after an earlier attempt of ours)" : "deleted"
        case .skipped: state.message ?? ""
        case .sending: "sent, no answer recorded"
        case .failed, .unconfirmed, .absentBeforeApply: state.answer.summary
        }
    }

    /// Lists the lines the canary sent with what each became, for the review the canary stops for.
    private func writeCanary(_ report: ApplyReport, journal: Journal) {
        do {
            let states = try journal.lineStates(plan: plan.sha256, destination: target.destination)
            let byLine = Dictionary(plan.entries.map { ($0.line, $0) }, uniquingKeysWith: { first, _ in first })
            let out = try OutputFile(path: canaryPath)
            try out.writeCSVRecord(["line", "segment_id", "type", "value", "state", "answer"])
            for line in report.canaryLines {
                guard let entry = byLine[line] else { continue }
                let state = states[line]
                try out.writeCSVRecord([
                    String(line), entry.segmentID, entry.type, entry.value, state?.state.rawValue ?? "not_sent",
                    state.map(Self.answer) ?? "",
                ])
            }
            try out.commit()
        } catch {
            warn("warning: the canary's lines could not be listed in \(canaryPath) (\(error))")
        }
    }

    /// Replaces the previous report with one that says a run is going: a run killed before its end never leaves the
    /// previous run's report looking current.
    private func writeRunning(journal: String) {
        let text = """
            {
              "destination" : "\(jsonEscaped(target.destination))",
              "journal" : "\(jsonEscaped(journal))",
              "outcome" : "running",
              "plan" : "\(jsonEscaped(plan.path))",
              "plan_sha256" : "\(plan.sha256)",
              "started_at" : "\(WallClock.now())",
              "note" : "a run is going, or was killed before its end: the journal has what it did"
            }

            """
        do {
            try OutputFile.write(text, to: reportPath)
        } catch {
            warn("warning: the report cannot be written (\(error)); the run goes on, its report kept in the journal")
        }
    }

    private func jsonEscaped(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

