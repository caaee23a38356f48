import Foundation
import IDAuditCore

#if canImport(Glibc)
    import Glibc
#endif

/// Where journals live: one per destination, in the user's state folder (`$XDG_STATE_HOME/idaudit`, else
/// `~/.local/state/idaudit`), whatever `--store` or the working folder is.
///
/// A journal is what stops a line from being sent twice, so a destination must never be journaled in two places: two
/// runs with different `--store` values used to get two journals and send every line twice. Each destination has a
/// lock (`destinations/HASH.lock`, held for the whole run, whichever journal it uses) and a record of its journal
/// (`destinations/HASH.journal`): a run without `--journal` uses the recorded one (else
/// `journals/HASH.sqlite`), and a run with another journal is refused while the recorded one exists.
package struct JournalHome: Sendable {
    /// The state folder.
    package let folder: String

    /// The state folder from `environment`: `$XDG_STATE_HOME/idaudit`, else `$HOME/.local/state/idaudit`.
    package init(environment: [String: String] = ProcessInfo.processInfo.environment) throws(JournalError) {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            folder = state + "/idaudit"
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            folder = home + "/.local/state/idaudit"
        } else {
            throw JournalError(
                message: "no state folder for journals and destination locks: set XDG_STATE_HOME or HOME to an "
                    + "absolute path")
        }
    }

    /// A state folder at `folder` (tests).
    package init(folder: String) { self.folder = folder }

    /// The destination's key in file names: its sha256 (destinations hold slashes and colons).
    static func key(_ destination: String) -> String {
        String(SHA256Digest.hex(of: Array(destination.utf8)).prefix(32))
    }

    /// The journal recorded for `destination`, if any.
    package func recordedJournal(for destination: String) -> String? {
        let path = folder + "/destinations/" + Self.key(destination) + ".journal"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let journal = text.trimmingCharacters(in: .newlines)
        return journal.isEmpty ? nil : journal
    }

    /// Every journal recorded for any destination, existing ones only (`verify` reads them all).
    package func recordedJournals() -> [String] {
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
    /// one, else the default; once the journal is open, ``remember(_:for:)`` records it. The lock is held until
    /// released or the process exits.
    ///
    /// - Parameter legacy: where an earlier idaudit kept the journal (beside the store, or in the working folder):
    ///   when it holds runs to this destination and no journal is recorded, the run is refused rather than starting
    ///   a fresh journal that would send every done line again.
    /// - Throws: ``JournalError`` when another run holds the destination, when `given` is not the recorded journal
    ///   while that one exists, or when the legacy journal must be named.
    package func claim(
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
        if let given, given.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw JournalError(message: "--journal: a path with control characters is refused (it cannot be recorded)")
        }
        let chosen: String
        if let recorded = recordedJournal(for: destination) {
            // A recorded journal that is missing may be on an unmounted volume, or moved: starting afresh would send
            // every done line again.
            guard FileManager.default.fileExists(atPath: recorded) else {
                throw JournalError(
                    message:
                        "\(destination) is journaled in \(recorded), which is missing (an unmounted volume? a moved "
                        + "file?): restore it. To start a fresh journal (every line done there would be sent again), "
                        + "remove \(recordPath(key))")
            }
            if let given, Self.absolute(given) != Self.absolute(recorded) {
                throw JournalError(
                    message:
                        "\(destination) is journaled in \(recorded); this run would use \(Self.absolute(given)): a "
                        + "second journal would send its done lines again. Drop --journal, or pass --journal \(recorded)"
                )
            }
            chosen = Self.absolute(recorded)
        } else if let legacy, given.map({ Self.absolute($0) != Self.absolute(legacy) }) ?? true,
            Self.holdsRuns(legacy, to: destination)
        {
            // An upgrade must not start a fresh journal (or take another one) while the old one holds this
            // destination's runs.
            throw JournalError(
                message: "an earlier idaudit journaled \(destination) in \(Self.absolute(legacy)); pass "
                    + "--journal \(legacy) once to go on with it (it is then remembered for this destination)")
        } else if let given {
            chosen = Self.absolute(given)
        } else {
            // Resolved like a given path, so that passing it as --journal later is the same journal.
            chosen = Self.absolute(folder + "/journals") + "/" + key + ".sqlite"
        }
        return (chosen, lock)
    }

    /// Whether the journal at `path` exists and records runs to `destination` (read only when no journal is recorded
    /// for it: the legacy check of an upgrade).
    private static func holdsRuns(_ path: String, to destination: String) -> Bool {
        FileManager.default.fileExists(atPath: path) && (try? Journal(path: path).hasRuns(destination: destination)) == true
    }

    /// The state folder, made when missing: where a run keeps its private copy of the plan (``PlanSnapshot``).
    package func privateFolder() throws(JournalError) -> String {
        try makeFolders()
        return folder
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

    private func recordPath(_ key: String) -> String { folder + "/destinations/" + key + ".journal" }

    /// Records `journal` as the destination's, once it exists (``claim(destination:journal:legacy:holder:)`` chose
    /// it): a record never names a journal that was never made.
    package func remember(_ journal: String, for destination: String) throws(JournalError) {
        let real = Self.absolute(journal)
        if recordedJournal(for: destination) != real { try record(real, for: Self.key(destination)) }
    }

    /// Records `journal` for the destination whose key is `key`, atomically (a rename).
    private func record(_ journal: String, for key: String) throws(JournalError) {
        let path = recordPath(key)
        do {
            try Data((journal + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw JournalError(message: "\(path): cannot record the journal: \(error.localizedDescription)")
        }
    }

    /// `path` made absolute and resolved (symlinks, `..`): the file's real path, else its folder's real path and its
    /// name (a journal not created yet is named as it will be found once it is).
    package static func absolute(_ path: String) -> String {
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let url = URL(fileURLWithPath: full).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        if let real = realpath(parent, nil) {
            defer { free(real) }
            let dir = String(cString: real)
            return (dir == "/" ? "" : dir) + "/" + url.lastPathComponent
        }
        return url.path
    }
}
