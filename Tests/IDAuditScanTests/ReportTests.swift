import Foundation
import IDAuditCore
import IDAuditRules
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Issue 5: report.html and report.md, on ScanTests' hand-made store.
///
/// Hand-computed: use_A holds (oldest first) u-old (excess), a@x.com (excess), b@x.com (kept), null (blocked),
/// u-new (kept, the lookup); use_C holds anon-1 (kept), c1@x.com (excess), ceo@x.com (protected), c2@x.com (excess).
/// Counted toward limits (blocked excluded): use_A user_id 2, email 2; use_C anonymous_id 1, email 3.
struct ReportTests {
    let t: ScanTests

    init() throws { t = try ScanTests() }

    func scan(redact: Bool = false, out: String = "out") throws -> (html: String, md: String) {
        _ = try t.store.ingest(directory: try t.export())
        var options = ScanOptions(outDirectory: t.dir.file(out), rulesPath: "rules.yaml")
        options.redact = redact
        _ = try Scanner.run(store: t.store, rules: try t.rules(), options: options, now: t.now)
        return (try t.dir.read("\(out)/report.html"), try t.dir.read("\(out)/report.md"))
    }

    @Test func theHeadlineSaysWhatIsWrong() throws {
        let (html, md) = try scan()
        #expect(html.contains(#"<div class="k">Profiles in violation</div><div class="n">2</div>"#))
        #expect(html.contains(#"<div class="k">Identifiers to delete</div><div class="n">5</div>"#))
        #expect(html.contains("3 remediable · 2 not"))
        #expect(html.contains("first run with these rules"))
        #expect(md.contains("| Identifiers to delete | 5: 3 remediable, 2 not |"))
        #expect(md.contains("| email | limit | 3 | 1 |"))
        #expect(md.contains("| email | blocked | 1 | 1 |"))
        #expect(md.contains("| user_id | limit | 1 | 1 |"))
    }

    @Test func offendersListEveryIdentifierInTimeOrderWithTheDecision() throws {
        let (html, md) = try scan()
        let a = try #require(html.range(of: "<code>use_A</code>"))
        let c = try #require(html.range(of: "<code>use_C</code>"))
        #expect(a.lowerBound < c.lowerBound)  // 3 to delete before 2
        let section = String(html[a.lowerBound..<c.lowerBound])
        let values = ["u-old", "a@x.com", "b@x.com", "null", "u-new"]
        let positions = values.map { section.range(of: "<td class=\"v\">\($0)</td>")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(section.contains(#"<td class="v">null</td><td><span class="badge blocked">blocked</span>"#))
        #expect(section.contains(#"<td class="v">u-old</td><td><span class="badge excess">excess</span>"#))
        #expect(section.contains("lookup <code>u-new</code>"))
        #expect(html.contains(#"<td class="v">ceo@x.com</td><td><span class="badge protected">protected</span>"#))
        #expect(md.contains("| 1 | `use_A` | 3 | 5 | `u-new` |"))
        #expect(md.contains("| 2 | `use_C` | 2 | 4 | none (not remediable) |"))
    }

    @Test func histogramsCountIdentifiersPerProfileAndFollowIngests() throws {
        _ = try scan()
        #expect(try t.store.scanHistogram() == ["user_id": [2: 1], "email": [2: 1, 3: 1], "anonymous_id": [1: 1]])
        // b@x.com is removed from use_A: the next (incremental) scan moves use_A's email count from 2 to 1.
        let later = try F.write(
            in: t.dir, "e2", graph: [], mapping: [F.mapping("m10", "use_B", "email", "b@x.com", day: 5, seq: 50, removed: true)])
        _ = try t.store.ingest(directory: later)
        let result = try Scanner.run(
            store: t.store, rules: try t.rules(), options: ScanOptions(outDirectory: t.dir.file("out2"), rulesPath: "r"),
            now: t.now)
        #expect(result.refresh?.full == false)
        #expect(try t.store.scanHistogram() == ["user_id": [2: 1], "email": [1: 1, 3: 1], "anonymous_id": [1: 1]])
        let html = try t.dir.read("out2/report.html")
        // use_C counts 3 emails against a limit of 1: one profile above it, its count written over its bar.
        #expect(html.contains(#"<figcaption>email · limit 1 weekly · <span class="overtext">1 profile above it</span></figcaption>"#))
        #expect(html.contains("<figcaption>user_id · limit 1 ever · <span class=\"overtext\">1 profile above it</span></figcaption>"))
        #expect(html.contains("<figcaption>anonymous_id · no limit</figcaption>"))
        #expect(html.contains(#"class="limit""#))
    }

    @Test func theReportIsSelfContained() throws {
        let (html, _) = try scan()
        for forbidden in ["<script", "src=", "<link", "@import", "url(", "http://", "https://"] {
            #expect(!html.contains(forbidden), "report.html contains \(forbidden)")
        }
        #expect(html.contains("<svg"))
        #expect(html.contains("does not reach downstream destinations: Braze, Amplitude"))
        #expect(html.contains("__operation"))
        #expect(html.contains("Replaying events from the Event Archive reintroduces deleted identifiers"))
        #expect(html.contains((try t.rules()).sha256))
        #expect(html.contains("sliding windows over first_seen"))
    }

    @Test func redactionHidesEveryValueBehindAStableHash() throws {
        let (html, md) = try scan(redact: true)
        for value in ["u-old", "a@x.com", "b@x.com", "u-new", "c1@x.com", "ceo@x.com", "anon-1"] {
            #expect(!html.contains(value), "report.html shows \(value)")
            #expect(!md.contains(value), "report.md shows \(value)")
        }
        let hash = "#" + SHA256Digest.hex(of: Array("a@x.com".utf8)).prefix(10)
        #expect(html.contains(hash))
        #expect(Redactor(enabled: true).value("a@x.com") == hash)
        // Stable: the same value gives the same hash in another run.
        let (again, _) = try scan(redact: true, out: "out-again")
        #expect(again.contains(hash))
    }
}
