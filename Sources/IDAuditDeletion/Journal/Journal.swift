import Foundation
import GRDB
import IDAuditCore

#if canImport(Glibc)
    import Glibc
#endif

/// The apply journal: every attempt, recorded before and after it is sent, keyed by plan sha256, destination and
/// line, in a SQLite file: one per destination in the user's state folder (``JournalHome``).
///
/// It is what makes `apply` resumable and idempotent: a line whose state is `done` is never sent again, and a line
/// whose attempt was recorded as sent but never finished (a `kill -9` mid-flight) is sent again, which is safe
/// because an identifier already deleted answers `eid_not_found`; the journal is also what tells that answer apart
/// from an identifier that was never there (``uncertainLines(plan:destination:)``). One apply at a time holds it
/// (``lock(holder:)``). No identifier values, tokens or partner names are stored: lines are numbers in the plan,
/// whose sha256 binds them.
package final class Journal: Sendable {
    /// The journal's path.
    package let path: String
    private let queue: DatabaseQueue

    /// Where idaudit before 0.19 kept the journal, beside the store: `dir/name.sqlite` -> `dir/name-journal.sqlite`
    /// (``JournalHome`` refuses to start a new journal while this one holds runs to the destination).
    package static func legacyPath(besideStore store: String) -> String {
        let base = store.hasSuffix(".sqlite") ? String(store.dropLast(7)) : store
        return base + "-journal.sqlite"
    }

    /// Opens (creating when needed) the journal at `path`.
    package init(path: String) throws(JournalError) {
        self.path = path
        var config = Configuration()
        config.prepareDatabase { db in
            // FULL: an attempt recorded as sent must survive a power loss, or our own deletion would later read as
            // "absent before the apply".
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        // Another SQLite database named as a journal (`--journal` at a store, say) is refused before anything in it
        // changes: its own migrations could pass for the journal's, and it would be switched to WAL.
        if FileManager.default.fileExists(atPath: path) {
            var readOnly = Configuration()
            readOnly.readonly = true
            let tables: [String]
            do {
                tables = try DatabaseQueue(path: path, configuration: readOnly).read { db in
                    try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                }
            } catch {
                throw JournalError(message: "\(path): cannot open the journal: \(error)")
            }
            // An empty file where a journal was (truncated, or replaced): starting it afresh would send every line
            // done there again. (A journal is never empty once made: its tables are created as it is opened.)
            if tables.isEmpty {
                throw JournalError(
                    message: "\(path) exists but holds no journal (an empty file): a journal truncated or replaced would "
                        + "send every line done there again. Restore it from a backup; if no apply ever ran with it, "
                        + "remove it")
            }
            let own: Set<String> = ["runs", "lines", "attempts", "grdb_migrations"]
            if !tables.contains("attempts") || !Set(tables).isSubset(of: own) {
                throw JournalError(
                    message: "\(path) is not an idaudit journal (it holds other tables: "
                        + tables.filter { !own.contains($0) }.prefix(5).joined(separator: ", ")
                        + "); a journal is a file of its own: name a new path with --journal")
            }
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(queue)
        } catch {
            throw JournalError(message: "\(path): cannot open the journal: \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE runs (
                        id INTEGER PRIMARY KEY,
                        plan_sha256 TEXT NOT NULL,
                        destination TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        finished_at INTEGER,
                        outcome TEXT,
                        report TEXT
                    );
                    CREATE TABLE lines (
                        plan_sha256 TEXT NOT NULL,
                        destination TEXT NOT NULL,
                        line INTEGER NOT NULL,
                        state TEXT NOT NULL,            -- sending, done, skipped, failed
                        already_absent INTEGER NOT NULL DEFAULT 0,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        status INTEGER,
                        code TEXT,
                        message TEXT,
                        request_id TEXT,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (plan_sha256, destination, line)
                    ) WITHOUT ROWID;
                    CREATE TABLE attempts (
                        id INTEGER PRIMARY KEY,
                        run_id INTEGER NOT NULL REFERENCES runs(id),
                        plan_sha256 TEXT NOT NULL,
                        destination TEXT NOT NULL,
                        line INTEGER NOT NULL,
                        attempt INTEGER NOT NULL,
                        sent_at INTEGER NOT NULL,
                        finished_at INTEGER,
                        status INTEGER,
                        outcome TEXT,                   -- done, absent, skipped, retry, failed, stop; NULL: in flight
                        code TEXT,
                        request_id TEXT
                    );
                    CREATE INDEX attempts_by_line ON attempts(plan_sha256, destination, line);
                    """)
        }
        // Every line a request carries (an erase request carries several users) remembers whether an attempt of ours
        // may have been carried out without an answer: `in_flight` counts attempts sent and not yet answered (a kill
        // leaves it above 0), `uncertain` is set for good by an answer that was none (a network error, a 5xx, an
        // unconfirmed 2xx). v1 knew this only for a request's first line.
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE lines ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE lines ADD COLUMN uncertain INTEGER NOT NULL DEFAULT 0;
                    -- A v1 journal recorded attempts under a request's first line only, and each line's last answer.
                    -- A line with attempts of its own is uncertain when one of them is (no answer, none, a 5xx, an
                    -- unconfirmed 2xx); a line a request carried after its first (an erase's users) has none of its
                    -- own, so every such line sent and not done may have been carried out: a not-found on it then
                    -- counts as gone, never as "nothing erased".
                    UPDATE lines SET uncertain = 1
                    WHERE EXISTS (
                        SELECT 1 FROM attempts AS a
                        WHERE a.plan_sha256 = lines.plan_sha256 AND a.destination = lines.destination
                        AND a.line = lines.line
                        AND (a.outcome IS NULL OR a.status = 0 OR a.status >= 500 OR a.outcome = 'unconfirmed'))
                    -- Sent more often than its own attempts say: carried by another line's request, whose answer
                    -- is lost for it (unless that was its one attempt and a refusal, a 4xx: nothing carried out).
                    OR (state NOT IN ('done', 'skipped', 'absent_before_apply') AND attempts > (
                        SELECT count(*) FROM attempts AS a
                        WHERE a.plan_sha256 = lines.plan_sha256 AND a.destination = lines.destination
                        AND a.line = lines.line)
                        AND NOT (attempts = 1 AND state = 'failed' AND status BETWEEN 400 AND 499));
                    """)
        }
        return migrator
    }

    // MARK: - Reading

    /// The recorded state of every line of a plan at a destination that has one (of the lines in `lines` only,
    /// when given: a run reads its plan's states a chunk at a time).
    package func lineStates(plan: String, destination: String, lines: ClosedRange<Int>? = nil) throws -> [Int: LineState]
    {
        try queue.read { db in
            var states: [Int: LineState] = [:]
            let range = lines ?? Int.min...Int.max
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT line, state, already_absent, attempts, status, code, message, request_id, updated_at,
                        uncertain <> 0 OR in_flight > 0
                    FROM lines WHERE plan_sha256 = ? AND destination = ? AND line BETWEEN ? AND ?
                    """,
                arguments: [plan, destination, range.lowerBound, range.upperBound])
            while let row = try rows.next() {
                let line: Int = row[0]
                states[line] = LineState(
                    state: LineState.State(rawValue: row[1]) ?? .sending, alreadyAbsent: row[2] as Bool,
                    attempts: row[3], status: row[4], code: row[5], message: row[6], requestID: row[7],
                    updatedAt: Instant(microseconds: row[8]), uncertain: row[9])
            }
            return states
        }
    }

    /// How many lines of a plan at a destination are in each state.
    package func stateCounts(plan: String, destination: String) throws -> [LineState.State: Int] {
        try queue.read { db in
            var counts: [LineState.State: Int] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT state, count(*) FROM lines WHERE plan_sha256 = ? AND destination = ? GROUP BY state",
                arguments: [plan, destination])
            while let row = try rows.next() {
                counts[LineState.State(rawValue: row[0]) ?? .sending, default: 0] += row[1] as Int
            }
            return counts
        }
    }

    /// The attempts of a plan at a destination whose outcome was a deletion (`done` or `absent`), per line.
    package func successfulAttempts(plan: String, destination: String) throws -> [Int: Int] {
        try queue.read { db in
            var counts: [Int: Int] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT line, count(*) FROM attempts WHERE plan_sha256 = ? AND destination = ?
                    AND outcome IN ('done', 'absent') GROUP BY line
                    """,
                arguments: [plan, destination])
            while let row = try rows.next() { counts[row[0]] = row[1] }
            return counts
        }
    }

    /// When each line's first attempt was sent, for the lines of a plan at a destination.
    package func firstSent(plan: String, destination: String) throws -> [Int: Instant] {
        try queue.read { db in
            var out: [Int: Instant] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT line, min(sent_at) FROM attempts WHERE plan_sha256 = ? AND destination = ? GROUP BY line
                    """,
                arguments: [plan, destination])
            while let row = try rows.next() { out[row[0]] = Instant(microseconds: row[1]) }
            return out
        }
    }

    /// The lines of a plan at a destination that an earlier attempt may have deleted without its answer being
    /// recorded: an attempt in flight when a run died (no outcome), one answered by a network error or a 5xx, or
    /// one answered by a 2xx that is not the documented success.
    /// A not-found answer on such a line means our earlier attempt removed the identifier; on any other line it
    /// means the identifier was not there.
    package func uncertainLines(plan: String, destination: String) throws -> Set<Int> {
        try queue.read { db in
            var lines = Set<Int>()
            let rows = try Int.fetchCursor(
                db,
                sql: """
                    SELECT line FROM attempts WHERE plan_sha256 = ? AND destination = ?
                    AND (outcome IS NULL OR status = 0 OR status >= 500 OR outcome = 'unconfirmed')
                    UNION SELECT line FROM lines WHERE plan_sha256 = ? AND destination = ?
                    AND (uncertain <> 0 OR in_flight > 0)
                    """,
                arguments: [plan, destination, plan, destination])
            while let line = try rows.next() { lines.insert(line) }
            return lines
        }
    }

    /// The destinations a plan was applied to.
    package func destinations(plan: String) throws -> [String] {
        try queue.read { db in
            try String.fetchAll(
                db, sql: "SELECT DISTINCT destination FROM lines WHERE plan_sha256 = ? ORDER BY destination",
                arguments: [plan])
        }
    }

    // MARK: - Writing

    /// Starts a run; returns its id.
    func startRun(plan: String, destination: String, at time: Instant) async throws -> Int64 {
        try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO runs (plan_sha256, destination, started_at) VALUES (?, ?, ?)",
                arguments: [plan, destination, time.microseconds])
            return db.lastInsertedRowID
        }
    }

    /// Ends a run with its outcome and its report (JSON).
    func finishRun(_ run: Int64, outcome: String, report: String, at time: Instant) async throws {
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE runs SET finished_at = ?, outcome = ?, report = ? WHERE id = ?",
                arguments: [time.microseconds, outcome, report, run])
        }
    }

    /// Records that an attempt is about to be sent (committed before the request leaves); returns its id.
    func beginAttempt(
        run: Int64, plan: String, destination: String, line: Int, covers: [Int] = [], attempt: Int, at time: Instant
    ) async throws -> Int64 {
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO attempts (run_id, plan_sha256, destination, line, attempt, sent_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [run, plan, destination, line, attempt, time.microseconds])
            let id = db.lastInsertedRowID
            for covered in [line] + covers {
                try db.execute(
                    sql: """
                        INSERT INTO lines (plan_sha256, destination, line, state, attempts, updated_at, in_flight)
                        VALUES (?, ?, ?, 'sending', 1, ?, 1)
                        ON CONFLICT (plan_sha256, destination, line)
                        DO UPDATE SET attempts = attempts + 1, updated_at = excluded.updated_at,
                            in_flight = lines.in_flight + 1,
                            state = CASE WHEN lines.state IN ('unconfirmed', 'failed') THEN lines.state
                                ELSE 'sending' END
                        WHERE lines.state <> 'done'
                        """,
                    arguments: [plan, destination, covered, time.microseconds])
            }
            // (A line sent again with --retry-unconfirmed or --retry-failed keeps that state until an answer settles
            // it: a stop, a retry left unfinished or a kill leaves it where the flag is needed to send it again; its
            // attempt without an answer still makes a later not-found count as gone.)
            return id
        }
    }

    /// Records an attempt's answer and the line's resulting state, in one transaction.
    func finishAttempt(
        _ attempt: Int64, plan: String, destination: String, line: Int, covers: [Int] = [], result: AttemptResult,
        at time: Instant
    ) async throws {
        let (outcome, lineState, failure, absent) = Self.describe(result)
        let uncertain: Bool =
            switch result {
            case .retry(let f, _), .failed(let f): f.status == 0 || f.status >= 500
            case .unconfirmed: true
            default: false
            }
        try await queue.write { db in
            // An attempt answered: another one still counted in flight belonged to a run that died (one run per
            // destination at a time, one attempt of a line at a time), and may have been carried out.
            for covered in [line] + covers {
                try db.execute(
                    sql: """
                        UPDATE lines SET uncertain = uncertain OR ? OR in_flight > 1, in_flight = 0
                        WHERE plan_sha256 = ? AND destination = ? AND line = ?
                        """,
                    arguments: [uncertain, plan, destination, covered])
            }
            try db.execute(
                sql:
                    "UPDATE attempts SET finished_at = ?, status = ?, outcome = ?, code = ?, request_id = ? WHERE id = ?",
                arguments: [
                    time.microseconds, failure?.status ?? 200, outcome, failure?.code, failure?.requestID, attempt,
                ])
            if let lineState {
                for covered in [line] + covers {
                    try db.execute(
                        sql: """
                            UPDATE lines SET state = ?, already_absent = ?, status = ?, code = ?, message = ?,
                            request_id = ?, updated_at = ?
                            WHERE plan_sha256 = ? AND destination = ? AND line = ? AND state <> 'done'
                            """,
                        arguments: [
                            lineState, absent, failure?.status, failure?.code, failure?.message, failure?.requestID,
                            time.microseconds, plan, destination, covered,
                        ])
                }
            }
        }
    }

    /// Records many lines not sent, in one transaction (synchronously: the run's line feed calls it, holding no
    /// task). A line left `sending` by a run that died keeps that state: its request may have been carried out, and
    /// only an answer may settle it.
    func recordSkips(plan: String, destination: String, _ skips: [(line: Int, reason: String)], at time: Instant)
        throws
    {
        guard !skips.isEmpty else { return }
        try queue.write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO lines (plan_sha256, destination, line, state, message, updated_at)
                    VALUES (?, ?, ?, 'skipped', ?, ?)
                    ON CONFLICT (plan_sha256, destination, line)
                    DO UPDATE SET state = 'skipped', message = excluded.message, updated_at = excluded.updated_at
                    WHERE lines.state <> 'sending'
                    """)
            for skip in skips {
                try statement.execute(arguments: [plan, destination, skip.line, skip.reason, time.microseconds])
            }
        }
    }

    private static func describe(_ result: AttemptResult) -> (String, String?, AttemptFailure?, Bool) {
        switch result {
        case .done(let absent): (absent ? "absent" : "done", "done", nil, absent)
        // Never a deletion of ours: its own terminal state, never sent again, never recorded as deleted.
        case .absentBeforeApply(let failure), .notFound(let failure):
            ("absent_before_apply", "absent_before_apply", failure, true)
        case .skipped(let reason):
            ("skipped", "skipped", AttemptFailure(status: 400, code: "", message: reason, requestID: ""), false)
        case .retry(let failure, _): ("retry", nil, failure, false)
        case .failed(let failure): ("failed", "failed", failure, false)
        // A 2xx that is not the documented success: it may have deleted; sent again only with --retry-unconfirmed.
        case .unconfirmed(let failure): ("unconfirmed", "unconfirmed", failure, false)
        // A stop (401, 403) is about the token or the space, not the line: it stays pending for the next run.
        case .stop(let failure): ("stop", nil, failure, false)
        }
    }
}

// MARK: - One apply at a time

extension Journal {
    /// Takes the journal for one run: a second apply or erase on the same journal refuses at once, naming the
    /// holder. The lock is an advisory `flock` on `JOURNAL.lock`, which the kernel releases when its holder exits,
    /// however it exits: a crashed holder never blocks the next run.
    package func lock(holder: String) throws(JournalError) -> JournalLock {
        // The real path: a journal reached through a symlink or another spelling is the same journal.
        try JournalLock.take(
            path: JournalHome.absolute(path) + ".lock", holder: holder,
            busy: { other in
                "another apply holds \(path): \(other); wait for it to finish (two runs on one journal would send "
                    + "lines twice)"
            })
    }

    /// Whether any run to `destination` is recorded.
    package func hasRuns(destination: String) throws(JournalError) -> Bool {
        do {
            return try queue.read { db in
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM runs WHERE destination = ?)", arguments: [destination])
                    ?? false
            }
        } catch {
            throw JournalError(message: "\(path): cannot read the journal: \(error)")
        }
    }
}

/// A held journal lock; released by ``release()`` or when the process exits.
package final class JournalLock: Sendable {
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Takes the advisory `flock` on `path` (created when missing) and writes `holder` into it; when another
    /// process holds it, throws `busy(what that process wrote)`.
    package static func take(path: String, holder: String, busy: (String) -> String) throws(JournalError) -> JournalLock {
        // Never through a symlink (a link planted in a shared folder would have us truncate whatever it points at);
        // a lock file another user made is locked read-only (flock needs no write access), never skipped.
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        var writable = true
        if fd < 0 && errno == EACCES {
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            writable = false
        }
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw JournalError(message: "\(path): cannot open the lock file: \(reason)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw JournalError(message: "\(path): cannot open the lock file: it is not a regular file")
        }
        // Readable by every user whatever this process's umask (077 made it private, and another user's run could
        // not take the lock at all): a lock shared by users must open for all of them.
        if writable, info.st_uid == geteuid(), info.st_mode & 0o044 != 0o044 { _ = fchmod(fd, 0o644) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let held = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let other = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : "another process"
            throw JournalError(
                message: held
                    ? busy(other.trimmingCharacters(in: .whitespacesAndNewlines))
                    : "\(path): cannot lock: \(reason)")
        }
        if writable {
            let text = Array("pid \(getpid()), \(holder)\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pwrite(fd, text, text.count, 0)
        }
        return JournalLock(fd: fd)
    }

    deinit { close(fd) }

    /// Releases the lock now.
    package func release() { _ = flock(fd, LOCK_UN) }
}

/// What the journal knows of one line.
package struct LineState: Sendable, Equatable {
    /// A line's state.
    package enum State: String, Sendable {
        /// An attempt was sent and its answer not recorded (in flight, or the run was killed): send again.
        case sending
        /// Deleted (or already absent): never sent again.
        case done
        /// Not sent, for the recorded reason.
        case skipped
        /// Failed; sent again only with `--retry-failed`.
        case failed
        /// The platform said the identifier was not there, and no attempt of ours can have removed it: nothing
        /// was deleted; never sent again.
        case absentBeforeApply = "absent_before_apply"
        /// Answered by a 2xx that is not the platform's documented success: perhaps deleted, never counted so;
        /// sent again only with `--retry-unconfirmed`.
        case unconfirmed
    }

    /// The state.
    package var state: State
    /// Whether the platform said the identifier was already gone.
    package var alreadyAbsent: Bool
    /// Attempts sent, in all runs.
    package var attempts: Int
    /// The last answer's status.
    package var status: Int?
    /// The last answer's error code.
    package var code: String?
    /// The last answer's message, or the skip reason.
    package var message: String?
    /// The last answer's Request-Id.
    package var requestID: String?
    /// When the state was last written.
    package var updatedAt: Instant
    /// Whether an attempt of ours may have been carried out without an answer (sent and never answered, or
    /// answered by a network error, a 5xx or an unconfirmed 2xx): a not-found is then perhaps our own deletion.
    package var uncertain: Bool

    /// A state as the journal records it.
    package init(
        state: State, alreadyAbsent: Bool = false, attempts: Int = 0, status: Int? = nil, code: String? = nil,
        message: String? = nil, requestID: String? = nil, updatedAt: Instant, uncertain: Bool = false
    ) {
        self.uncertain = uncertain
        self.state = state
        self.alreadyAbsent = alreadyAbsent
        self.attempts = attempts
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.updatedAt = updatedAt
    }

    /// The last answer recorded, as an attempt's failure.
    package var answer: AttemptFailure {
        AttemptFailure(status: status ?? 0, code: code ?? "", message: message ?? "", requestID: requestID ?? "")
    }
}

/// The journal cannot be opened or written.
package struct JournalError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    package var message: String
    package var description: String { message }
}
