import IDAuditCSV

/// What ``SampleGenerator`` generates: how many profiles, from which seed, over which period.
package struct SampleOptions: Sendable {
    /// The number of profiles (canonical ids) to generate; 0 writes header-only files.
    package var profiles: Int
    /// The seed: the same options give byte-identical files, on any machine and toolchain.
    package var seed: UInt64
    /// The end of the sampled period, in microseconds since 1970-01-01T00:00:00Z (UTC).
    ///
    /// A fixed date rather than "now", so that output does not depend on when it is generated.
    package var endMicroseconds: Int64
    /// The length of the sampled period, in days, ending at ``endMicroseconds``.
    package var spanDays: Int
    /// A messier space: about 6 times as many profiles with email sprawl, anonymous-id bursts and several user_ids,
    /// and 5 times as many case variants; about a fifth of the mapping rows end up in excess under Segment's
    /// recommended rules (the default mix: about 4%). Every other draw is the default's.
    package var heavyExcess = false

    /// 2026-11-01T00:00:00Z, the default end of the period.
    package static let defaultEndMicroseconds: Int64 = 1_793_491_200_000_000

    /// Creates options: by default three years (1,095 days) ending on 2026-11-01.
    package init(
        profiles: Int, seed: UInt64 = 7, endMicroseconds: Int64 = SampleOptions.defaultEndMicroseconds,
        spanDays: Int = 1095
    ) {
        self.profiles = profiles
        self.seed = seed
        self.endMicroseconds = endMicroseconds
        self.spanDays = spanDays
    }
}

/// What ``SampleGenerator/write(_:to:progress:)`` wrote.
package struct SampleResult: Sendable, Equatable {
    /// Rows of `external_id_mapping_updates.csv`, header excluded.
    package var mappingRows: Int
    /// Rows of `id_graph_updates.csv`, header excluded.
    package var graphRows: Int
    /// Profiles generated (canonical ids: merged-away segment ids are not counted).
    package var profiles: Int
    /// Bytes written, both files together.
    package var bytes: Int64

    /// Creates a result.
    package init(mappingRows: Int, graphRows: Int, profiles: Int, bytes: Int64) {
        self.mappingRows = mappingRows
        self.graphRows = graphRows
        self.profiles = profiles
        self.bytes = bytes
    }
}

/// Options the generator cannot work with.
package struct SampleError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, and what to pass instead.
    package var message: String

    /// Creates an error.
    package init(message: String) {
        self.message = message
    }

    /// The message.
    package var description: String { message }
}

/// Generates a realistic, messy Profiles Sync export: the `external_id_mapping_updates` and `id_graph_updates`
/// tables as a warehouse unload writes them (UPPER-case headers, RFC 4180 CSV).
///
/// Profiles are generated one at a time and rows leave through a bounded shuffle buffer, so memory stays flat
/// (a few megabytes) however many profiles are asked for. The shape of the data:
///
/// - Identifiers per profile: one `user_id` (none for 10% of profiles, 2-3 for about 4%); 0-2 emails (6-12 for
///   1.5%, "email sprawl"; 2% add a case variant of one); 1-4 anonymous ids, plus a burst of 8-20 within 1-4 days
///   for 2%; phone for about 20%; `ga_client_id`, `ios.id`/`android.id`, IDFAs, `crm_id` and `braze_id` for some.
///   About 7.5 mapping rows per profile, REMOVED rows included.
/// - Junk values (`null`, `-1`, `0000`, `anonymous`, `0`, `---`) for 0.5% of identifiers. Real exports repeat
///   them across profiles, and so does this one: the same EXTERNAL_ID_HASH then appears on several segment ids.
/// - About 1.2% of identifiers get a REMOVED row (within the last year of the period, at least three hours
///   after creation, on the canonical segment id, triggering-event columns empty); 30% of those come back with
///   a later CREATED row. 2% of CREATED rows leave `__OPERATION` empty.
/// - 8% of profiles merge 2-3 segment ids into the oldest one; 1% are chains (`a -> b`, later `b -> root`).
///   Every segment id has a creation row; mapping rows carry the segment id the identifier was first seen on.
/// - Times are spread over the period, 80% as `YYYY-MM-DD HH:MM:SS.ffffff`, 20% as `YYYY-MM-DDTHH:MM:SS.fffZ`;
///   3% of mapping rows are backfilled (TIMESTAMP empty, RECEIVED_AT set).
/// - SEQ is the row's time (TIMESTAMP, or RECEIVED_AT when backfilled) in microseconds times 10, plus a counter
///   for the rows of one event: it increases strictly with time.
/// - EXTERNAL_ID_HASH is the real lowercase hex SHA-1 of type followed by value, as Profiles Sync computes it.
/// - About 0.1% of rows hold a TRIGGERING_EVENT_NAME that needs quoting (a comma or a double quote).
package enum SampleGenerator {
    /// The mapping table's file name.
    package static let mappingFileName = "external_id_mapping_updates.csv"
    /// The graph table's file name.
    package static let graphFileName = "id_graph_updates.csv"

    /// The columns of `external_id_mapping_updates`, in unload order.
    package static let mappingColumns = [
        "ID", "SEGMENT_ID", "EXTERNAL_ID_HASH", "EXTERNAL_ID_TYPE", "EXTERNAL_ID_VALUE", "TIMESTAMP", "RECEIVED_AT",
        "SEQ", "UUID_TS", "TRIGGERING_EVENT_ID", "TRIGGERING_EVENT_NAME", "TRIGGERING_EVENT_SOURCE_ID",
        "TRIGGERING_EVENT_SOURCE_NAME", "TRIGGERING_EVENT_SOURCE_SLUG", "TRIGGERING_EVENT_TYPE", "__OPERATION",
    ]

    /// The columns of `id_graph_updates`, in unload order.
    package static let graphColumns = [
        "SEGMENT_ID", "CANONICAL_SEGMENT_ID", "TRIGGERING_EVENT_TYPE", "TRIGGERING_EVENT_ID", "TIMESTAMP", "SEQ",
        "UUID_TS",
    ]

    /// Rows shuffled together: enough to scatter each profile's rows over hundreds of profiles.
    static let chunkRows = 4096

    /// Writes ``mappingFileName`` and ``graphFileName`` into `directory` (created if missing).
    ///
    /// Each file is written under a temporary name and renamed into place when complete, so an interrupted run
    /// leaves no half-written file behind.
    ///
    /// - Parameters:
    ///   - options: what to generate.
    ///   - directory: the output directory.
    ///   - progress: called now and then with the fraction of profiles done, from 0 to 1.
    /// - Throws: ``SampleError`` for unusable options, `OutputError` when a file cannot be written.
    package static func write(
        _ options: SampleOptions, to directory: String, progress: ((Double) -> Void)? = nil
    ) throws -> SampleResult {
        guard options.profiles >= 0 else {
            throw SampleError(message: "--profiles must be 0 or more, not \(options.profiles)")
        }
        guard options.spanDays >= 7 else {
            throw SampleError(message: "the sampled period must last at least 7 days, not \(options.spanDays)")
        }
        let start = options.endMicroseconds - Int64(options.spanDays) * ProfileGenerator.microsPerDay
        guard start >= 1_400_000_000_000_000 else {
            // Segment ids are KSUIDs, whose timestamp counts seconds from 2014-05-13T16:53:20Z.
            throw SampleError(message: "the sampled period must start after 2014-05-13T16:53:20Z")
        }
        try makeDirectories(directory)
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let mappingFile = try OutputFile(path: base + mappingFileName)
        let graphFile = try OutputFile(path: base + graphFileName)

        var generator = ProfileGenerator(
            seed: options.seed, start: start, end: options.endMicroseconds, profiles: options.profiles,
            chunkRows: chunkRows)
        generator.mess = options.heavyExcess ? 6 : 1
        var shuffle = SampleRandom(seed: options.seed, stream: UInt64.max)
        try generator.mapping.writeHeader(mappingColumns, to: mappingFile)
        try generator.graph.writeHeader(graphColumns, to: graphFile)
        let step = max(1, options.profiles / 1000)
        for index in 0..<options.profiles {
            generator.generate(profile: index)
            if generator.mapping.isFull { try generator.mapping.drain(to: mappingFile, using: &shuffle) }
            if generator.graph.isFull { try generator.graph.drain(to: graphFile, using: &shuffle) }
            if let progress, index % step == step - 1 { progress(Double(index + 1) / Double(options.profiles)) }
        }
        try generator.mapping.drain(to: mappingFile, using: &shuffle)
        try generator.graph.drain(to: graphFile, using: &shuffle)
        try mappingFile.commit()
        try graphFile.commit()
        progress?(1)
        return SampleResult(
            mappingRows: generator.mapping.rowsWritten, graphRows: generator.graph.rowsWritten,
            profiles: options.profiles, bytes: generator.mapping.bytesWritten + generator.graph.bytesWritten)
    }
}
