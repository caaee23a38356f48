import IDAuditCSV
import IDAuditCore

#if canImport(Glibc)
    import Glibc
#endif

/// A Profiles Sync export read straight into profiles, with no store: what a one-shot scan (`scan --export`) needs.
///
/// The same reading, checks and rules as a bulk ingest (``ProfileStore/ingest(directory:options:)``): rows sorted by
/// identifier with bounded memory, rule 1 over the graph, rule 2 per identifier (one row per ID, whatever the order
/// rows arrive in). Where the ingest writes SQLite B-trees, this sorts the active identifiers a second time, by
/// profile, and hands each profile over in the store's order. Memory stays bounded whatever the export's size: both
/// sorts spill runs to disk.
public enum ExportProfiles {
    /// What was read.
    public struct Report: Sendable {
        /// `id_graph_updates` rows: `stored` counts the rows used (one per SEGMENT_ID and SEQ).
        public var graph = FileCounts()
        /// `external_id_mapping_updates` rows: `stored` counts the rows used (one per identifier and ID).
        public var mapping = FileCounts()
        /// Per canonical profile, the segments merged into it (its own excepted): Segment's merge cap counts these.
        public var merged: [ByteString: Int] = [:]
        /// The files read.
        public var files: [String] = []
    }

    /// Reads the export in `directory` and calls `body` with every profile holding an active identifier, in canonical
    /// id byte order, each profile's identifiers by type and oldest first: the order the store's scan reads.
    ///
    /// - Parameters:
    ///   - workDirectory: where the sort runs go (a folder of their own, removed before returning; ones left by a
    ///     killed run are removed by the next).
    /// - Throws: ``IngestError`` for bad input (`file:line`) unless `options.rejectsPath` takes bad rows; whatever
    ///   `body` throws.
    public static func read(
        directory: String, options: IngestOptions = IngestOptions(), workDirectory: String,
        _ body: (Profile) throws -> Void
    ) throws -> Report {
        let graphPath = try ExportFiles.find(ExportFiles.graph, in: directory)
        let mappingPath = try ExportFiles.find(ExportFiles.mapping, in: directory)
        let rejects = try ExportReader.rejectsFile(options.rejectsPath)
        let base = (workDirectory.hasSuffix("/") ? workDirectory : workDirectory + "/") + ".idaudit-export"
        SortDirectories.removeStale(besides: base)
        let files = ExportReader(rejects: rejects, progress: options.progress, sortDirectory: base + ".sort-\(getpid())")
        let trace = PhaseTrace()
        var report = Report()
        report.files = [graphPath, mappingPath]

        // Rule 1.
        let (graphSorter, graphCounts) = try files.sortGraph(path: graphPath)
        report.graph = graphCounts
        let walk: (duplicates: Int, parents: [ByteString: ByteString])
        do {
            defer { graphSorter.close() }
            var used = 0
            walk = try GraphWalk.run(try graphSorter.finish(), parents: true) { _, _, _, _ in used += 1 }
            report.graph.stored = used
            report.graph.duplicate = walk.duplicates
        } catch let error as SortError {
            throw IngestError(code: .io, file: graphPath, line: 0, message: "sorting the rows failed: \(error.message)")
        }
        let canonical: [ByteString: ByteString]
        do {
            canonical = try MergeGraph(parents: walk.parents).resolveAll()
        } catch {
            throw IngestError(code: .mergeCycle, file: graphPath, line: 0, message: error.description)
        }
        for root in canonical.values { report.merged[root, default: 0] += 1 }
        let resolver = try CanonicalResolver(map: CanonicalMap(canonical), db: nil)
        trace.mark("graph")

        // Rule 2, then the active identifiers by profile.
        let (mappingSorter, mappingCounts) = try files.sortMappings(path: mappingPath)
        defer { mappingSorter.close() }
        report.mapping = mappingCounts
        trace.mark("read + sort mapping runs")
        let profiles = files.makeSorter("profiles", order: ProfileRecord.order)
        defer { profiles.close() }
        do {
            var group = IdentifierGroup()
            var record = RecordBuilder()
            func settle() throws {
                guard group.settle() else {
                    report.mapping.duplicate += group.duplicates
                    return
                }
                report.mapping.stored += group.added
                report.mapping.duplicate += group.duplicates
                guard group.active else { return }
                let merged = group.withBytes(group.lastSegment) { resolver.mergedCanonical(of: $0) }
                record.reset()
                group.withAllBytes { bytes in
                    if let merged {
                        record.text(merged)
                    } else {
                        record.text(UnsafeBufferPointer(rebasing: bytes[group.lastSegment]))
                    }
                    record.text(UnsafeBufferPointer(rebasing: bytes[group.type]))
                    record.text(UnsafeBufferPointer(rebasing: bytes[group.value]))
                }
                record.int64(group.firstSeen)
                record.int64(group.firstSeq)
                try record.withBytes { try profiles.append($0) }
            }
            let stream = try mappingSorter.finish()
            while let row = try stream.next() {
                guard let base = row.baseAddress else { continue }
                if !group.sameKey(base) {
                    if group.hasKey { try settle() }
                    group.start(base)
                }
                group.addNew(base)
            }
            if group.hasKey { try settle() }
            mappingSorter.close()
            trace.mark("merge + fold")

            let sorted = try profiles.finish()
            var current: [UInt8] = []
            var canonicalID = ""
            var identifiers: [ProfileIdentifier] = []
            var lastType = ""
            while let row = try sorted.next() {
                var r = RecordReader(row)
                let id = r.text()
                if !id.elementsEqual(current) {
                    if !identifiers.isEmpty { try body(Profile(canonicalID: canonicalID, identifiers: identifiers)) }
                    identifiers.removeAll(keepingCapacity: true)
                    current.removeAll(keepingCapacity: true)
                    current.append(contentsOf: id)
                    canonicalID = String(decoding: id, as: UTF8.self)
                }
                let type = r.text()
                if !type.elementsEqual(lastType.utf8) { lastType = String(decoding: type, as: UTF8.self) }
                let value = String(decoding: r.text(), as: UTF8.self)
                let firstSeen = r.int64()
                identifiers.append(
                    ProfileIdentifier(type: lastType, value: value, firstSeen: Instant(microseconds: firstSeen), seq: r.int64()))
            }
            if !identifiers.isEmpty { try body(Profile(canonicalID: canonicalID, identifiers: identifiers)) }
            trace.mark("profiles")
        } catch let error as SortError {
            throw IngestError(code: .io, file: mappingPath, line: 0, message: "sorting the rows failed: \(error.message)")
        }
        try rejects?.commit()
        return report
    }
}

/// An active identifier as the profile sort orders it: canonical id, type, value, first_seen, first SEQ; ordered by
/// (canonical id, type, first_seen, SEQ, value), bytes for text: the store's `identifiers_by_profile` order.
enum ProfileRecord {
    /// Abbreviated by the canonical id's first 8 bytes.
    static let order = RecordOrder.leadingText(less)

    static let less: ExternalSorter.Less = { a, b in
        var ra = RecordReader(a)
        var rb = RecordReader(b)
        var c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c < 0 }
        c = compareBytes(ra.text(), rb.text())
        if c != 0 { return c < 0 }
        let va = ra.text()
        let vb = rb.text()
        let ta = ra.int64()
        let tb = rb.int64()
        if ta != tb { return ta < tb }
        let sa = ra.int64()
        let sb = rb.int64()
        if sa != sb { return sa < sb }
        return compareBytes(va, vb) < 0
    }
}
