#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import IDAuditCore

/// Where journals live: one per destination, in the user's state folder (`$XDG_STATE_HOME/idaudit`, else
/// `~/.local/state/idaudit`), whatever `--store` or the working folder is.
///
/// A journal is what stops a line from being sent twice, so a destination must never be journaled in two places: two
/// runs with different `--store` values used to get two journals and send every line twice. Each destination has a
/// lock (`destinations/HASH.lock`, held for the whole run, whichever journal it uses) and a record of its journal
/// (`destinations/HASH.journal`): a run without `--journal` uses the recorded one (else
/// `journals/HASH.sqlite`), and a run with another journal is refused while the recorded one exists.
public struct JournalHome: Sendable {
    /// The state folder.
    public let folder: String

    /// The state folder from `environment`: `$XDG_STATE_HOME/idaudit`, else `$HOME/.local/state/idaudit`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws(JournalError) {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            folder = state + "/idaudit"
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            folder = home + "/.local/state/idaudit"
        } else {
            throw JournalError(
                message: "no state folder for the journal: set XDG_STATE_HOME or HOME to an absolute path, or pass "
                    + "--journal")
        }
    }

    /// A state folder at `folder` (tests).
    public init(folder: String) { self.folder = folder }

    /// The destination's key in file names: its sha256 (destinations hold slashes and colons).
    static func key(_ destination: String) -> String { String(SHA256Digest.hex(of: Array(destination.utf8)).prefix(32)) }

    /// The journal a destination gets when none is recorded.
    public func defaultJournal(for destination: String) -> String {
        folder + "/journals/" + Self.key(destination) + ".sqlite"
    }

    /// The journal recorded for `destination`, if any.
    public func recordedJournal(for destination: String) -> String? {
        let path = folder + "/destinations/" + Self.key(destination) + ".journal"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let journal = text.trimmingCharacters(in: .newlines)
        return journal.isEmpty ? nil : journal
    }

    /// Every journal recorded for any destination, existing ones only (`verify` reads them all).
    public func recordedJournals() -> [String] {
        let dir = folder + "/destinations"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var out: [String] = []
        for name in names.sorted() where name.hasSuffix(".journal") {
            guard let text = try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) else { continue }
            let journal = text.trimmingCharacters(in: .newlines)
            if FileManager.default.fileExists(atPath: journal), !out.contains(journal) { out.append(journal) }
        }
        return out
    }

    /// Takes `destination` for one run and says which journal it uses: `given` (`--journal`), else the recorded
    /// one, else the default. The lock is held until released or the process exits.
    ///
    /// - Parameter legacy: where an earlier idaudit kept the journal (beside the store, or in the working folder):
    ///   when it holds runs to this destination and no journal is recorded, the run is refused rather than starting
    ///   a fresh journal that would send every done line again.
    /// - Throws: ``JournalError`` when another run holds the destination, when `given` is not the recorded journal
    ///   while that one exists, or when the legacy journal must be named.
    public func claim(
        destination: String, journal given: String?, legacy: String?, holder: String
    ) throws(JournalError) -> (journal: String, lock: JournalLock) {
        try makeFolders()
        let key = Self.key(destination)
        let lock = try JournalLock.take(
            path: folder + "/destinations/" + key + ".lock", holder: holder,
            busy: { other in
                "another run is sending to \(destination): \(other); wait for it to finish (two runs to one "
                    + "destination would send lines twice)"
            })
        let recorded = recordedJournal(for: destination).flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let chosen: String
        if let given {
            let real = Self.absolute(given)
            if let recorded, recorded != real {
                throw JournalError(
                    message: "\(destination) is journaled in \(recorded); this run would use \(real): a second "
                        + "journal would send its done lines again. Drop --journal, or pass --journal \(recorded)")
            }
            chosen = real
        } else if let recorded {
            chosen = recorded
        } else {
            if let legacy, FileManager.default.fileExists(atPath: legacy),
                (try? Journal(path: legacy).hasRuns(destination: destination)) == true
            {
                throw JournalError(
                    message: "an earlier idaudit journaled \(destination) in \(Self.absolute(legacy)); pass "
                        + "--journal \(legacy) once to go on with it (it is then remembered for this destination)")
            }
            // Resolved like a given path, so that passing it as --journal later is the same journal.
            chosen = Self.absolute(folder + "/journals") + "/" + key + ".sqlite"
        }
        if recorded != chosen { try record(chosen, for: key) }
        return (chosen, lock)
    }

    private func makeFolders() throws(JournalError) {
        for dir in [folder, folder + "/destinations", folder + "/journals"] {
            do {
                try FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw JournalError(message: "\(dir): cannot create the state folder: \(error.localizedDescription)")
            }
        }
    }

    /// Records `journal` for the destination whose key is `key`, atomically (a rename).
    private func record(_ journal: String, for key: String) throws(JournalError) {
        let path = folder + "/destinations/" + key + ".journal"
        do {
            try Data((journal + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw JournalError(message: "\(path): cannot record the journal: \(error.localizedDescription)")
        }
    }

    /// `path` made absolute and resolved (symlinks, `..`) as far as it exists.
    static func absolute(_ path: String) -> String {
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }
}
