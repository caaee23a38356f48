import Foundation
import Testing

@testable import IDAuditSample

struct SampleGeneratorTests {
    // MARK: - Determinism and shape of the files

    @Test func sameSeedGivesIdenticalBytes() throws {
        let first = try SampleExport(profiles: 500, seed: 42)
        let second = try SampleExport(profiles: 500, seed: 42)
        defer {
            first.remove()
            second.remove()
        }
        #expect(first.result == second.result)
        #expect(first.bytes().mapping == second.bytes().mapping)
        #expect(first.bytes().graph == second.bytes().graph)
    }

    @Test func differentSeedGivesDifferentBytes() throws {
        let first = try SampleExport(profiles: 500, seed: 42)
        let second = try SampleExport(profiles: 500, seed: 43)
        defer {
            first.remove()
            second.remove()
        }
        #expect(first.bytes().mapping != second.bytes().mapping)
        #expect(first.bytes().graph != second.bytes().graph)
    }

    @Test func headersAreExactlyTheWarehouseColumns() throws {
        let export = try SampleExport(profiles: 20, seed: 7)
        defer { export.remove() }
        let mapping = String(decoding: export.bytes().mapping, as: UTF8.self)
        let graph = String(decoding: export.bytes().graph, as: UTF8.self)
        #expect(
            mapping.hasPrefix(
                "ID,SEGMENT_ID,EXTERNAL_ID_HASH,EXTERNAL_ID_TYPE,EXTERNAL_ID_VALUE,TIMESTAMP,RECEIVED_AT,SEQ,UUID_TS,"
                    + "TRIGGERING_EVENT_ID,TRIGGERING_EVENT_NAME,TRIGGERING_EVENT_SOURCE_ID,"
                    + "TRIGGERING_EVENT_SOURCE_NAME,TRIGGERING_EVENT_SOURCE_SLUG,TRIGGERING_EVENT_TYPE,__OPERATION\n"))
        #expect(
            graph.hasPrefix(
                "SEGMENT_ID,CANONICAL_SEGMENT_ID,TRIGGERING_EVENT_TYPE,TRIGGERING_EVENT_ID,TIMESTAMP,SEQ,UUID_TS\n"))
    }

    @Test func zeroProfilesWritesHeadersOnly() throws {
        let export = try SampleExport(profiles: 0, seed: 7)
        defer { export.remove() }
        #expect(export.result == SampleResult(mappingRows: 0, graphRows: 0, profiles: 0, bytes: export.result.bytes))
        #expect(export.mapping.isEmpty && export.graph.isEmpty)
        #expect(export.mappingHeader.count == 16 && export.graphHeader.count == 7)
    }

    @Test func negativeProfilesIsAnError() {
        #expect(throws: SampleError.self) {
            try SampleGenerator.write(SampleOptions(profiles: -1, seed: 7), to: NSTemporaryDirectory())
        }
    }

    @Test func resultMatchesTheFiles() throws {
        let export = try SampleExport(profiles: 300, seed: 7)
        defer { export.remove() }
        #expect(export.mappingFieldCounts == [16])
        #expect(export.graphFieldCounts == [7])
        #expect(export.result.mappingRows == export.mapping.count)
        #expect(export.result.graphRows == export.graph.count)
        #expect(export.result.profiles == 300)
        let (mapping, graph) = export.bytes()
        #expect(export.result.bytes == Int64(mapping.count + graph.count))
        // A profile per root: canonical ids reached from the mapping rows are exactly the profiles.
        let parents = export.parents()
        let canonicals = Set(export.mapping.map { export.canonical(of: $0.segmentID, parents: parents) })
        #expect(canonicals.count == 300)
    }

    // MARK: - Values

    @Test func idsAndSegmentIDsLookReal() throws {
        let export = try SampleExport(profiles: 300, seed: 7)
        defer { export.remove() }
        let base62 = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let hex = Set("0123456789abcdef")
        for row in export.mapping {
            #expect(row.segmentID.hasPrefix("use_") && row.segmentID.count == 31)
            #expect(row.segmentID.dropFirst(4).allSatisfy(base62.contains))
            #expect(row.id.count == 36 && row.id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
            #expect(row.hash.count == 40 && row.hash.allSatisfy(hex.contains))
        }
        #expect(Set(export.mapping.map(\.id)).count == export.mapping.count)
    }

    @Test func hashIsSHA1OfTypeFollowedByValue() throws {
        let export = try SampleExport(profiles: 200, seed: 7)
        defer { export.remove() }
        // SHA1 itself is checked against the FIPS vectors in SHA1Tests; this checks what goes into it.
        for row in export.mapping {
            var expected: [UInt8] = []
            SHA1.appendHex(of: Array(row.type.utf8)[...], Array(row.value.utf8)[...], to: &expected)
            #expect(row.hash == String(decoding: expected, as: UTF8.self))
        }
        let sample = try #require(export.mapping.first { $0.type == "user_id" })
        var concatenated: [UInt8] = []
        SHA1.appendHex(of: Array((sample.type + sample.value).utf8)[...], [][...], to: &concatenated)
        #expect(sample.hash == String(decoding: concatenated, as: UTF8.self))
    }

    @Test func timesUseBothFormatsWithinThePeriod() throws {
        let export = try SampleExport(profiles: 500, seed: 7)
        defer { export.remove() }
        let start = SampleOptions.defaultEndMicroseconds - 1095 * 86_400_000_000
        let end = SampleOptions.defaultEndMicroseconds
        var iso = 0
        for row in export.mapping {
            for text in [row.receivedAt, row.uuidTS] + (row.timestamp.isEmpty ? [] : [row.timestamp]) {
                let time = try #require(parseSampleTime(text), "\(text)")
                #expect(time >= start && time <= end)
                if text.hasSuffix("Z") { iso += 1 }
            }
        }
        let share = Double(iso) / Double(export.mapping.count * 3)
        #expect(share > 0.15 && share < 0.25)
    }

    @Test func seqIsDerivedFromTheTime() throws {
        let export = try SampleExport(profiles: 500, seed: 7)
        defer { export.remove() }
        for row in export.mapping {
            let time = try #require(parseSampleTime(row.timestamp.isEmpty ? row.receivedAt : row.timestamp))
            #expect(row.seq / 10 == time)
        }
        for row in export.graph {
            #expect(row.seq / 10 == parseSampleTime(row.timestamp))
        }
    }

    @Test func backfilledRowsHaveReceivedAtButNoTimestamp() throws {
        let export = try SampleExport(profiles: 1000, seed: 7)
        defer { export.remove() }
        let backfilled = export.mapping.filter { $0.timestamp.isEmpty }
        #expect(!backfilled.isEmpty)
        #expect(backfilled.allSatisfy { !$0.receivedAt.isEmpty })
        let share = Double(backfilled.count) / Double(export.mapping.count)
        #expect(share > 0.015 && share < 0.045)
    }

    @Test func someFieldsNeedQuoting() throws {
        let export = try SampleExport(profiles: 2000, seed: 7)
        defer { export.remove() }
        let quoted = export.mapping.filter { $0.fields.contains { $0.contains(",") || $0.contains("\"") } }
        #expect(!quoted.isEmpty)
        #expect(Double(quoted.count) / Double(export.mapping.count) <= 0.002)
    }

    // MARK: - Operations

    @Test func removedRowsFollowACreatedRow() throws {
        let export = try SampleExport(profiles: 2000, seed: 7)
        defer { export.remove() }
        let operations = Set(export.mapping.map(\.operation))
        #expect(operations == ["CREATED", "REMOVED", ""])
        var created: [String: [Int64]] = [:]
        for row in export.mapping where !row.isRemoved { created[row.key, default: []].append(row.seq) }
        let removed = export.mapping.filter(\.isRemoved)
        #expect(!removed.isEmpty)
        var reintroduced = 0
        for row in removed {
            let seqs = created[row.key] ?? []
            #expect(seqs.contains { $0 < row.seq }, "REMOVED \(row.type) \(row.value) has no earlier CREATED row")
            if seqs.contains(where: { $0 > row.seq }) { reintroduced += 1 }
        }
        #expect(reintroduced > 0)
        #expect(reintroduced < removed.count)
        let empty = export.mapping.filter { $0.operation.isEmpty }.count
        #expect(Double(empty) / Double(export.mapping.count) < 0.04)
    }

    // MARK: - Graph

    @Test func everySegmentIDHasACreationRow() throws {
        let export = try SampleExport(profiles: 2000, seed: 7)
        defer { export.remove() }
        let created = Set(export.graph.filter { $0.segmentID == $0.canonicalID }.map(\.segmentID))
        for row in export.mapping { #expect(created.contains(row.segmentID)) }
        for row in export.graph { #expect(created.contains(row.canonicalID)) }
        // The surviving canonical of a merge is the older profile.
        let creationSeq = Dictionary(
            export.graph.filter { $0.segmentID == $0.canonicalID }.map { ($0.segmentID, $0.seq) },
            uniquingKeysWith: min)
        for row in export.graph where row.segmentID != row.canonicalID {
            #expect(creationSeq[row.canonicalID]! < creationSeq[row.segmentID]!)
            #expect(creationSeq[row.segmentID]! < row.seq)
        }
    }

    @Test func mergesIncludeChainsOfThree() throws {
        let export = try SampleExport(profiles: 2000, seed: 7)
        defer { export.remove() }
        let parents = export.parents().filter { $0.key != $0.value }
        let chains = parents.filter { parents[$0.value] != nil }
        #expect(!chains.isEmpty)
        for (a, b) in chains {
            let mergeAB = export.graph.first { $0.segmentID == a && $0.canonicalID == b }!
            let mergeBC = export.graph.first { $0.segmentID == b && $0.canonicalID == parents[b]! }!
            #expect(mergeAB.seq < mergeBC.seq)
        }
        let mergedProfiles = Set(parents.keys.map { export.canonical(of: $0, parents: parents) })
        let share = Double(mergedProfiles.count) / 2000
        #expect(share > 0.05 && share < 0.11)
    }

    // MARK: - Distribution

    @Test func averageRowsPerProfileIsAboutSevenAndAHalf() throws {
        let export = try SampleExport(profiles: 2000, seed: 7)
        defer { export.remove() }
        let average = Double(export.result.mappingRows) / 2000
        #expect(average >= 7 && average <= 8.5)
    }

    @Test func profilesShowTheMessAnAuditLooksFor() throws {
        let export = try SampleExport(profiles: 2000, seed: 7)
        defer { export.remove() }
        let parents = export.parents()
        var byProfile: [String: [SampleExport.MappingRow]] = [:]
        for row in export.mapping where !row.isRemoved {
            byProfile[export.canonical(of: row.segmentID, parents: parents), default: []].append(row)
        }
        func count(_ type: String, _ rows: [SampleExport.MappingRow]) -> Int {
            Set(rows.filter { $0.type == type }.map(\.value)).count
        }
        let profiles = Array(byProfile.values)
        #expect(profiles.contains { count("user_id", $0) == 0 })
        #expect(profiles.contains { count("user_id", $0) >= 2 })
        #expect(profiles.contains { count("email", $0) >= 6 })
        #expect(profiles.contains { count("phone", $0) >= 1 })
        // An anonymous-id burst: 8 or more first seen within a week.
        #expect(
            profiles.contains { rows in
                let times = rows.filter { $0.type == "anonymous_id" }
                    .compactMap { parseSampleTime($0.timestamp.isEmpty ? $0.receivedAt : $0.timestamp) }.sorted()
                return times.indices.dropLast(7).contains { times[$0 + 7] - times[$0] <= 7 * 86_400_000_000 }
            })
        let junk: Set<String> = ["null", "-1", "0000", "anonymous", "0", "---"]
        let junkRows = export.mapping.filter { junk.contains($0.value) }.count
        #expect(junkRows > 0 && Double(junkRows) / Double(export.mapping.count) < 0.015)
        let types = Set(export.mapping.map(\.type))
        #expect(types.isSuperset(of: ["user_id", "email", "anonymous_id", "phone", "ga_client_id"]))
    }
}
