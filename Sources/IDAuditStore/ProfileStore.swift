import GRDB
import GRDBSQLite
import IDAuditCore

/// The embedded SQLite profile store: Profiles Sync rows, the identity graph derived from them, and scan results.
///
/// One file on disk (`idaudit.sqlite` by default), opened through GRDB on the system libsqlite3. Every write is one
/// transaction, so an interrupted ingest or scan leaves the store as it was.
public final class ProfileStore: Sendable {
    /// The store's path.
    public let path: String
    let queue: DatabaseQueue

    /// The version of the SQLite library stores are opened with (`--version` names it).
    package static var sqliteVersion: String { String(cString: sqlite3_libversion()) }

    /// Opens (creating when needed) the store at `path` and brings its schema up to date.
    public init(path: String) throws(StoreError) {
        self.path = path
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = 4096")  // takes effect when the file is created
            try db.execute(sql: "PRAGMA cache_size = -131072")  // 128 MiB of page cache (1 GB budget in all)
            // Bulk loads stage rows in a temporary table and sort them: on disk, not in memory (1 GB budget).
            try db.execute(sql: "PRAGMA temp_store = FILE")
            try db.execute(sql: "PRAGMA threads = 2")  // SQLite's sorter may use a second core
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            try StoreSchema.migrator.migrate(queue)
        } catch let error as DatabaseError {
            throw StoreError(path: path, message: "cannot open the store: \(error.message ?? "\(error)")")
        } catch {
            throw StoreError(path: path, message: "cannot open the store: \(error)")
        }
    }

    /// Opens an existing store, refusing to create one (for commands that only read).
    public static func openExisting(path: String) throws(StoreError) -> ProfileStore {
        guard FileSystem.exists(path) else {
            throw StoreError(
                path: path, message: "no store here; create one with `idaudit ingest EXPORT_DIR --store \(path)`")
        }
        return try ProfileStore(path: path)
    }

    /// Caps SQLite's page cache for this connection (default 128 MiB): point lookups spread over a large store fill
    /// it without reusing much of it.
    public func limitPageCache(mebibytes: Int) throws {
        try queue.inDatabase { try $0.execute(sql: "PRAGMA cache_size = \(-1024 * mebibytes)") }
    }

    /// Counts of what the store holds.
    public func statistics() throws -> StoreStatistics {
        try queue.read { db in
            StoreStatistics(
                mappingRows: try Int.fetchOne(db, sql: "SELECT coalesce(sum(rows), 0) FROM identifiers") ?? 0,
                graphRows: try Int.fetchOne(db, sql: "SELECT count(*) FROM graph_updates") ?? 0,
                activeIdentifiers: try Int.fetchOne(db, sql: "SELECT count(*) FROM identifiers WHERE active = 1") ?? 0,
                dirtyProfiles: try Int.fetchOne(db, sql: "SELECT count(*) FROM dirty_profiles") ?? 0)
        }
    }
}

/// Row counts of a store.
public struct StoreStatistics: Sendable, Equatable {
    /// Rows of `external_id_mapping_updates` stored.
    public var mappingRows: Int
    /// Rows of `id_graph_updates` stored.
    public var graphRows: Int
    /// Identifiers whose latest row is CREATED.
    public var activeIdentifiers: Int
    /// Profiles changed since the last scan.
    public var dirtyProfiles: Int
}

/// An error opening or using the store.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// The store's path.
    public var path: String
    /// What went wrong.
    public var message: String

    /// Creates an error.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

#if canImport(Glibc)
    import Glibc
#endif

/// Small file-system helpers without Foundation's FileManager.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}
