import IDAuditCore
import Testing

@testable import IDAuditStore

/// A run sorted by abbreviated keys is in exactly the order the record comparison gives, whatever the keys leave
/// tied: values sharing their first 7 or 8 bytes, values shorter than the key, empty ones, bytes 0x00 and 0xFF,
/// types that are prefixes of each other, and runs with more types than a key can rank.
struct AbbreviatedSortTests {
    /// Byte strings that abbreviations must not misorder.
    static let stems: [[UInt8]] = [
        [], [0x61], Array("abcdefg".utf8), Array("abcdefgh".utf8), Array("abcdefg".utf8) + [0],
        Array("abcdefg".utf8) + [0xFF, 0x78], [0], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        Array("user@x.com".utf8),
    ]

    static func record(_ body: (inout RecordBuilder) -> Void) -> [UInt8] {
        var builder = RecordBuilder()
        body(&builder)
        return builder.withBytes { Array($0) }
    }

    static func text(_ builder: inout RecordBuilder, _ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { builder.text($0) }
    }

    /// Sorts `records` as one run with `order`, and again comparing records only.
    static func sorted(_ records: [[UInt8]], _ order: RecordOrder) -> (keyed: [[UInt8]], plain: [[UInt8]]) {
        func run(_ order: RecordOrder) -> [[UInt8]] {
            let buffer = RunBuffer(capacity: 1 << 22)
            for record in records { record.withUnsafeBytes { buffer.append($0) } }
            buffer.sort(order)
            return (0..<buffer.count).map { Array(buffer.record($0)) }
        }
        return (run(order), run(RecordOrder(less: order.less)))
    }

    static func variant(_ random: inout some RandomNumberGenerator) -> [UInt8] {
        stems.randomElement(using: &random)! + (Bool.random(using: &random) ? Array("\(Int.random(in: 0..<40, using: &random))".utf8) : [])
    }

    /// Mapping records (type, value, seq, id, ordinal, segment, time, removed); 300 types is more than a key ranks.
    @Test(arguments: [3, 300])
    func mappingRunsSortAsTheComparisonSays(typeCount: Int) {
        var random = SystemRandomNumberGenerator()
        let types: [[UInt8]] = (0..<typeCount).map {
            Array((["user_id", "user_id_2", "email", "e", ""][$0 % 5] + String(repeating: "z", count: $0 / 5)).utf8)
        }
        let records = (0..<4_000).map { i in
            Self.record { b in
                Self.text(&b, types.randomElement(using: &random)!)
                Self.text(&b, Self.variant(&random))
                b.int64(Int64.random(in: -3...3, using: &random))
                Self.text(&b, Array("id\(Int.random(in: 0..<9, using: &random))".utf8))
                b.int64(Int64(i))
                Self.text(&b, Array("use_1".utf8))
                b.int64(0)
                b.uint8(0)
            }
        }
        let (keyed, plain) = Self.sorted(records, MappingRecord.order)
        #expect(keyed.count == records.count)
        #expect(keyed == plain)
    }

    /// Profile records (canonical, type, value, first_seen, seq) and graph records (segment, seq, ordinal,
    /// canonical, time), keyed by the first 8 bytes of their first field.
    @Test func profileAndGraphRunsSortAsTheComparisonSays() {
        var random = SystemRandomNumberGenerator()
        var profiles: [[UInt8]] = []
        var graph: [[UInt8]] = []
        for i in 0..<3_000 {
            let id = Array("use_".utf8) + Self.variant(&random)
            profiles.append(Self.record { b in
                Self.text(&b, id)
                Self.text(&b, Array(["email", "user_id"].randomElement(using: &random)!.utf8))
                Self.text(&b, Self.variant(&random))
                b.int64(Int64.random(in: 0...3, using: &random))
                b.int64(Int64.random(in: 0...3, using: &random))
            })
            graph.append(Self.record { b in
                Self.text(&b, Self.variant(&random))
                b.int64(Int64.random(in: 0...3, using: &random))
                b.int64(Int64(i))
                Self.text(&b, Array("use_\(i % 5)".utf8))
                b.int64(Bool.random(using: &random) ? GraphRecord.noTime : Int64(i % 7))
            })
        }
        for (records, order) in [(profiles, ProfileRecord.order), (graph, GraphRecord.order)] {
            let (keyed, plain) = Self.sorted(records, order)
            #expect(keyed == plain)
        }
    }

    /// The key agrees with the byte order on every pair of stems.
    @Test func bytePrefixesNeverContradictTheByteOrder() {
        for a in Self.stems {
            for b in Self.stems {
                let order = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in compareBytes(pa, pb) } }
                for n in [1, 7, 8] {
                    let ka = a.withUnsafeBufferPointer { bytePrefix($0, n) }
                    let kb = b.withUnsafeBufferPointer { bytePrefix($0, n) }
                    if order < 0 { #expect(ka <= kb) }
                    if ka < kb { #expect(order < 0) }
                }
            }
        }
    }
}
