import Foundation
import IDAuditCore
import IDAuditRules
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Whatever order and batches the rows of an export arrive in, and whichever path ingests them (bulk into an empty
/// store, or merged into the stored rows), every scan must equal `scan --full`, and the end state must equal one bulk
/// load of the same rows.
struct IncrementalPropertyTests {
    let now = Instant(parsing: "2026-12-31 00:00:00")!

    /// Ingests one batch (an export folder) into `store`.
    func ingest(_ store: ProfileStore, _ dir: TemporaryDirectory, _ name: String, graph: [String], mapping: [String])
        throws
    {
        _ = try store.ingest(directory: try ExportFixture.write(in: dir, name, graph: graph, mapping: mapping))
    }

    /// Scans `store` into `dir/name` and returns its plan.csv.
    func scan(_ store: ProfileStore, _ rules: RuleSet, _ dir: TemporaryDirectory, _ name: String, full: Bool = false)
        throws -> (plan: String, result: ScanResult)
    {
        let result = try Scanner.run(
            store: store, rules: rules, options: ScanOptions(outDirectory: dir.file(name), rulesPath: "r", full: full),
            now: now)
        return (try dir.read("\(name)/plan.csv"), result)
    }

    /// Whether `a` and `b` have the same bytes.
    func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    @Test(arguments: 0..<6)
    func everyScanEqualsAFullScanAndTheEndEqualsOneBulkLoad(seed: UInt64) throws {
        let dir = try TemporaryDirectory("property")
        let export = RandomExport(seed: seed)
        let rules = try RulesLoader.parse(RandomExport.rules, file: "rules.yaml")

        // The reference: every row at once, into an empty store.
        let bulk = try ProfileStore(path: dir.file("bulk.sqlite"))
        try ingest(bulk, dir, "all", graph: export.graph, mapping: export.mapping)
        let reference = try scan(bulk, rules, dir, "bulk", full: true)
        #expect(reference.plan.split(separator: "\n").count > 5, "seed \(seed): the plan should not be trivial")

        // The same rows in another order, at once.
        let shuffled = try ProfileStore(path: dir.file("shuffled.sqlite"))
        try ingest(
            shuffled, dir, "shuffled", graph: export.graph.shuffled(seed: seed &+ 100),
            mapping: export.mapping.shuffled(seed: seed &+ 200))
        let shuffledPlan = try scan(shuffled, rules, dir, "shuffled").plan
        #expect(sameBytes(shuffledPlan, reference.plan), "seed \(seed): shuffled\n\(shuffledPlan)")

        // In random batches of shuffled rows: one store scanned incrementally after each batch, a twin fed the same
        // batches and scanned with --full.
        var rng = SplitMix(seed: seed &+ 300)
        var batchCount = 2 + Int(rng.next() % 4)
        var graphBatches = export.graph.shuffled(seed: seed &+ 400).randomBatches(batchCount, rng: &rng)
        var mappingBatches = export.mapping.shuffled(seed: seed &+ 500).randomBatches(batchCount, rng: &rng)
        if seed % 2 == 0 {
            // First an export with headers only: the next one is still loaded in bulk, after a scan.
            graphBatches.insert([], at: 0)
            mappingBatches.insert([], at: 0)
            batchCount += 1
        }
        let incremental = try ProfileStore(path: dir.file("incremental.sqlite"))
        let twin = try ProfileStore(path: dir.file("twin.sqlite"))
        var last = ""
        for b in 0..<batchCount {
            for (store, name) in [(incremental, "i"), (twin, "t")] {
                try ingest(store, dir, "\(name)\(b)", graph: graphBatches[b], mapping: mappingBatches[b])
            }
            let step = try scan(incremental, rules, dir, "scan-i\(b)")
            let full = try scan(twin, rules, dir, "scan-t\(b)", full: true)
            #expect(sameBytes(step.plan, full.plan), "seed \(seed), batch \(b) of \(batchCount)\n\(step.plan)\n\(full.plan)")
            #expect(step.result.totals == full.result.totals, "seed \(seed), batch \(b)")
            // History: the incremental store compares what changed since the last run, the twin compares all.
            #expect(step.result.run == full.result.run, "seed \(seed), batch \(b)\n\(step.result.run)\n\(full.result.run)")
            last = step.plan
        }
        #expect(sameBytes(last, reference.plan), "seed \(seed): batches against one bulk load\n\(last)")

        // The stores agree row for row, not only on the plan (as bytes: String's == would equate NFC and NFD). The
        // canonical id of an inactive identifier is not kept up to date, so it is left out.
        func record(_ store: ProfileStore, _ type: String, _ value: String) throws -> String {
            guard var record = try store.identifier(type: type, value: value) else { return "none" }
            if !record.active { record.canonicalID = "" }
            return "\(record)"
        }
        for (type, value) in export.identifiers {
            let expected = try record(bulk, type, value)
            for store in [incremental, shuffled] {
                let found = try record(store, type, value)
                #expect(sameBytes(found, expected), "seed \(seed): \(type):\(value)\n\(found)\n\(expected)")
            }
        }
        for segment in export.segments {
            let expected = try bulk.mergeChain(from: segment).joined(separator: " ")
            for store in [incremental, shuffled] {
                let found = try store.mergeChain(from: segment).joined(separator: " ")
                #expect(sameBytes(found, expected), "seed \(seed): \(found) against \(expected)")
            }
        }
    }
}
