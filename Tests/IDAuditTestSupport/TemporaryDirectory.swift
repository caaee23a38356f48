import Foundation

/// A fresh directory under the system temp folder, removed when the value is deinitialized.
public final class TemporaryDirectory: @unchecked Sendable {
    // Immutable after init; only the deinit touches the file system again.
    /// The directory's path (no trailing slash).
    public let path: String

    /// Creates the directory.
    public init(_ label: String = "idaudit") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `path/name` (creating parent folders) and returns the file's path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    /// Reads `path/name` as UTF-8 text.
    public func read(_ name: String) throws -> String {
        try String(contentsOfFile: file(name), encoding: .utf8)
    }
}

/// Builders for Profiles Sync export folders in tests.
public enum ExportFixture {
    /// The header a warehouse unload of `external_id_mapping_updates` has (a subset of its columns).
    public static let mappingHeader = "ID,SEGMENT_ID,EXTERNAL_ID_TYPE,EXTERNAL_ID_VALUE,TIMESTAMP,RECEIVED_AT,SEQ,__OPERATION"
    /// The header of `id_graph_updates`.
    public static let graphHeader = "SEGMENT_ID,CANONICAL_SEGMENT_ID,TIMESTAMP,SEQ"

    /// One mapping row: day `d` of November 2026 at noon; REMOVED when `removed`.
    public static func mapping(
        _ id: String, _ segment: String, _ type: String, _ value: String, day d: Int, seq: Int, removed: Bool = false
    ) -> String {
        let time = "2026-11-\(d < 10 ? "0" : "")\(d) 12:00:00"
        return "\(id),\(segment),\(type),\(value),\(time),\(time),\(seq),\(removed ? "REMOVED" : "CREATED")"
    }

    /// One graph row.
    public static func graph(_ segment: String, _ canonical: String, seq: Int) -> String {
        "\(segment),\(canonical),2026-11-01 00:00:00,\(seq)"
    }

    /// Writes an export folder `name` with the given rows and returns its path.
    @discardableResult
    public static func write(
        in dir: TemporaryDirectory, _ name: String, graph: [String], mapping: [String]
    ) throws -> String {
        try dir.write("\(name)/id_graph_updates.csv", ([graphHeader] + graph).joined(separator: "\n") + "\n")
        try dir.write(
            "\(name)/external_id_mapping_updates.csv", ([mappingHeader] + mapping).joined(separator: "\n") + "\n")
        return dir.file(name)
    }
}
