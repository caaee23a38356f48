import Foundation
import IDAuditCSV
import IDAuditCore

/// What `apply` and `erase` share around ``ApplyEngine``: the destination's lock and journal, the report that says a
/// run is going, and the final report. A graceful stop comes through ``ApplyOptions/stopRequest``.
package struct DeletionRun: Sendable {
    /// The plan (or erase file).
    package var plan: any PlanLines
    /// The destination.
    package var target: any DeletionTarget
    /// The state folder of journals and destination locks.
    package var home: JournalHome
    /// `--journal`, if given.
    package var journal: String?
    /// Where an earlier idaudit kept the journal.
    package var legacyJournal: String?
    /// Where the report goes.
    package var reportPath: String
    /// `apply` or `erase`, for the lock's holder text.
    package var command: String
    /// Where warnings go (the terminal's standard error).
    package var warn: @Sendable (String) -> Void
    /// What the approval's signature check said, for the report.
    package var approval: String?
    /// Remakes the plan from the journal's line states, once the journal is held (erase: batches of the users not
    /// done yet, so that a resumed run is keyed by user); nil: the plan as given.
    package var refine: (@Sendable ([Int: LineState]) -> PlanFile)?

    /// A run of `plan` to `target`.
    package init(
        plan: any PlanLines, target: any DeletionTarget, home: JournalHome, journal: String?, legacyJournal: String?,
        reportPath: String, command: String, warn: @escaping @Sendable (String) -> Void, approval: String? = nil,
        refine: (@Sendable ([Int: LineState]) -> PlanFile)? = nil
    ) {
        self.approval = approval
        self.refine = refine
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
    package func run(options: ApplyOptions) async throws -> (report: ApplyReport, journal: Journal, locks: [JournalLock])
    {
        let holder = "idaudit \(command) \(plan.path) to \(target.destination), started \(WallClock.now())"
        // The plan's own lock and record, beside it: runs under two state folders (sudo, cron, another operator's
        // HOME) would each have a journal of their own and send every line twice; the plan is what they share.
        let planLock = try lockPlan(holder: holder)
        // And the machine's lock for the destination, whatever the state folder or the plan: two plans sharing lines,
        // run at once from two state folders, sent those lines twice.
        let machineLock = try lockDestinationOnThisMachine()
        let (journalPath, destinationLock) = try home.claim(
            destination: target.destination, journal: journal, legacy: legacyJournal, holder: holder)
        try checkPlanRecord(journal: journalPath)
        let journalFile = try Journal(path: journalPath)
        try home.remember(journalPath, for: target.destination)
        let lock = try journalFile.lock(holder: holder)
        writePlanRecord(journal: journalPath)
        writeRunning(journal: journalPath)
        // A canary list from an earlier run must not read as this run's.
        try? FileManager.default.removeItem(atPath: canaryPath)

        let plan: any PlanLines =
            try refine.map { $0(try journalFile.lineStates(plan: self.plan.sha256, destination: target.destination)) }
            ?? self.plan
        var report = try await ApplyEngine.run(
            plan: plan, target: target, journal: journalFile, options: options, heldLock: lock)
        report.approval = approval
        do {
            try OutputFile.write(report.json, to: reportPath)
        } catch {
            try? FileManager.default.removeItem(atPath: reportPath)
            warn(
                "warning: the report could not be written (\(error)); the run's report is in the journal \(journalPath)"
            )
        }
        if !report.canaryLines.isEmpty { writeCanary(report, plan: plan, journal: journalFile) }
        return (report, journalFile, [lock, destinationLock] + [planLock, machineLock].compactMap { $0 })
    }

    /// Where the canary's lines are listed for review: `canary.csv` beside the report.
    package var canaryPath: String { Self.canaryPath(report: reportPath) }

    /// The canary list beside `report`: `canary.csv` beside `apply-report.json`, `X.erase-canary.csv` beside an
    /// erase's `X.erase-report.json` (an erase must not replace the list an apply's review needs).
    package static func canaryPath(report: String) -> String {
        let slash = report.lastIndex(of: "/")
        let folder = slash.map { String(report[...$0]) } ?? ""
        let name = slash.map { String(report[report.index(after: $0)...]) } ?? report
        if name == "apply-report.json" { return folder + "canary.csv" }
        let stem = name.hasSuffix("-report.json") ? String(name.dropLast("-report.json".count)) : name
        return folder + stem + "-canary.csv"
    }

    /// A value a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`, as OWASP
    /// advises for CSV meant to be opened by people; plan.csv keeps the value as it is.
    private static func inert(_ value: String) -> String {
        guard let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return value }
        return "'" + value
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
    private func writeCanary(_ report: ApplyReport, plan: any PlanLines, journal: Journal) {
        do {
            // The canary's lines are the plan's first lines sent: read until the last of them.
            var byLine: [Int: PlanEntry] = [:]
            let wanted = Set(report.canaryLines)
            let last = report.canaryLines.max() ?? 0
            let states = try journal.lineStates(plan: plan.sha256, destination: target.destination, lines: 0...last)
            let lines = try plan.cursor()
            while let entry = try lines.next(), entry.line <= last {
                if wanted.contains(entry.line) { byLine[entry.line] = entry }
            }
            let out = try OutputFile(path: canaryPath)
            try out.writeCSVRecord(["line", "segment_id", "type", "value", "state", "answer"])
            for line in report.canaryLines {
                guard let entry = byLine[line] else { continue }
                let state = states[line]
                try out.writeCSVRecord([
                    String(line), Self.inert(entry.segmentID), Self.inert(entry.type), Self.inert(entry.value),
                    state?.state.rawValue ?? "not_sent",
                    state.map(Self.answer) ?? "",
                ])
            }
            try out.commit()
        } catch {
            warn("warning: the canary's lines could not be listed in \(canaryPath) (\(error))")
        }
    }

    /// `plan.csv.lock`: one run of a plan at a time, whatever the state folder. A plan folder that cannot hold it
    /// (read-only) is a warning: the destination's lock still holds.
    private func lockPlan(holder: String) throws(JournalError) -> JournalLock? {
        let path = plan.path + ".lock"
        let planPath = plan.path
        let result: Result<JournalLock, JournalError>
        do {
            result = .success(
                try JournalLock.take(
                    path: path, holder: holder,
                    busy: { other in
                        "another run of \(planPath) is going: \(other); wait for it to finish (two runs of one plan "
                            + "would send its lines twice)"
                    }))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let lock): return lock
        case .failure(let error)
        where error.message.contains("cannot open the lock file") && !FileManager.default.fileExists(atPath: path)
            && !Self.anythingIsAt(path):
            // A plan folder nobody can write (no lock file made there, by anyone): the destination's lock holds.
            warn("warning: \(error.message); going on with the destination's lock only")
            return nil
        case .failure(let error): throw error
        }
    }

    /// The folder every user of this machine can make lock files in: `/run/lock` (Debian's `/var/lock`), else
    /// `/tmp`.
    static var machineLockFolder: String {
        // Chosen by what the folder is, never by what this user may do in it: root may write in a 0755 `/run/lock`
        // (Fedora's), other users may not, and they would lock in different folders.
        for folder in ["/run/lock", "/var/lock"] {
            var info = stat()
            if stat(folder, &info) == 0, info.st_mode & 0o1777 == 0o1777 { return folder }
        }
        return "/tmp"
    }

    /// `idaudit-<destination key>.lock` in the machine's lock folder: held while a run sends to the destination, by
    /// any user (a lock file another user made is locked read-only). A folder where no lock file can be made is a
    /// warning: the state folder's lock still holds.
    private func lockDestinationOnThisMachine() throws(JournalError) -> JournalLock? {
        let path = Self.machineLockFolder + "/idaudit-" + JournalHome.key(target.destination) + ".lock"
        let destination = target.destination
        do {
            // The holder names no plan or destination (the file is readable by every user).
            return try JournalLock.take(
                path: path, holder: "idaudit \(command), started \(WallClock.now())",
                busy: { other in
                    "another idaudit run on this machine is sending to \(destination) (\(other); any user, any state "
                        + "folder, any plan: \(path)): two runs at once would send the lines they share twice; wait "
                        + "for it to end"
                })
        } catch where error.message.contains("cannot open the lock file") && !Self.anythingIsAt(path) {
            // Only a folder where no lock file can be made is a warning; a lock file that is there and cannot be
            // opened (another user's, private; a planted link or folder) is another run's: refused.
            warn("warning: \(error.message); going on with the state folder's lock only")
            return nil
        } catch where error.message.contains("cannot open the lock file") {
            var info = stat()
            let owner = lstat(path, &info) == 0 ? "owner uid \(info.st_uid), mode \(String(info.st_mode & 0o7777, radix: 8))" : ""
            throw JournalError(
                message: "\(error.message) (\(owner)): this machine's lock for \(destination) is there and this user "
                    + "cannot take it; a run as its owner may be going. When none is, its owner or root removes it "
                    + "(rm \(path)); idaudit makes these files readable by every user")
        }
    }

    /// Whether anything (a file, a folder, a link, even a broken one) is at `path`.
    private static func anythingIsAt(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// `plan.csv.journal`: the destination this plan was applied to and the journal that recorded it.
    private var planRecordPath: String { plan.path + ".journal" }

    /// What `plan.csv.journal` records: per destination, the journal of this plan's runs there. One line per
    /// destination, `destination<TAB>journal` (an earlier idaudit wrote one destination on two lines: read too).
    private func planRecords() -> [(destination: String, journal: String)] {
        guard let text = try? String(contentsOfFile: planRecordPath, encoding: .utf8) else { return [] }
        let lines = text.split(separator: "\n").map(String.init)
        if !lines.contains(where: { $0.contains("\t") }), lines.count >= 2 { return [(lines[0], lines[1])] }
        return lines.compactMap { line in
            guard let tab = line.firstIndex(of: "\t") else { return nil }
            return (String(line[..<tab]), String(line[line.index(after: tab)...]))
        }
    }

    /// Refuses a journal other than the one that recorded this plan's runs to this destination (another user's, or
    /// another HOME's, state folder): it would send every done line again.
    private func checkPlanRecord(journal: String) throws(JournalError) {
        guard let recorded = planRecords().last(where: { $0.destination == target.destination })?.journal else { return }
        guard JournalHome.absolute(recorded) != JournalHome.absolute(journal) else { return }
        // A journal this user cannot even see (another user's private state folder) is another run's: refused. One
        // that is gone, or is not a journal (a record pointed elsewhere), is not.
        if access(recorded, F_OK) != 0 && errno == ENOENT { return }
        if let handle = FileHandle(forReadingAtPath: recorded) {
            let head = (try? handle.read(upToCount: 16)) ?? Data()
            try? handle.close()
            if head != Data("SQLite format 3\0".utf8) {
                warn("warning: \(planRecordPath) names \(recorded), which is not a journal: ignored")
                return
            }
        }
        throw JournalError(
            message:
                "\(plan.path) was applied to \(target.destination) with the journal \(recorded) (\(planRecordPath)); "
                + "this run would use \(journal), from another state folder (XDG_STATE_HOME or HOME differ: another "
                + "user, sudo, cron?), and would send every done line again. Run as the user and environment of that "
                + "run (or pass --journal \(recorded)); if that run was not a real one, remove \(planRecordPath)")
    }

    /// Records this destination's journal, keeping the other destinations' (a plan applied to Segment, then to
    /// Insider One, keeps both).
    private func writePlanRecord(journal: String) {
        var records = planRecords().filter { $0.destination != target.destination }
        records.append((target.destination, JournalHome.absolute(journal)))
        do {
            try OutputFile.write(records.map { $0.destination + "\t" + $0.journal + "\n" }.joined(), to: planRecordPath)
        } catch {
            warn(
                "warning: \(planRecordPath) cannot be written (\(error)): a run from another state folder would not "
                    + "find this journal")
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
            // An earlier run's report must not read as this run's (removing a file needs no free space).
            try? FileManager.default.removeItem(atPath: reportPath)
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
