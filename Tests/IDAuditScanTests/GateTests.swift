import Foundation
import IDAuditCore
import IDAuditRules
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Issue 5's nightly contract: the exit-code ladder and the JUnit report.
struct GateTests {
    @Test(arguments: [
        ("0", FailThreshold.identifiers(0)), ("250", .identifiers(250)), ("0.5%", .percentOfProfiles(0.5)),
        ("12%", .percentOfProfiles(12)),
    ])
    func parsesThresholds(text: String, threshold: FailThreshold) {
        #expect(FailThreshold(text) == threshold)
    }

    @Test(arguments: ["", "-1", "1.5", "abc", "-2%", "x%", "%"])
    func rejectsOtherThresholds(text: String) {
        #expect(FailThreshold(text) == nil)
    }

    static let totals = ScanTotals(profiles: 1_000, identifiers: 7_000, profilesInViolation: 5, excess: [])

    @Test(arguments: [
        // (plan lines, threshold, outcome): 5 of 1,000 profiles = 0.5% in violation.
        (0, FailThreshold.identifiers(0), ScanOutcome.clean),
        (0, .percentOfProfiles(0), .clean),
        (1, .identifiers(0), .failure),
        (10, .identifiers(10), .warning),
        (11, .identifiers(10), .failure),
        (10, .percentOfProfiles(0.5), .warning),
        (10, .percentOfProfiles(0.4), .failure),
    ])
    func laddersTheOutcome(planLines: Int, threshold: FailThreshold, outcome: ScanOutcome) {
        #expect(ScanOutcome.of(Self.totals, planLines: planLines, threshold: threshold) == outcome)
    }

    @Test func exitCodesAreTheLadder() {
        #expect([ScanOutcome.clean, .warning, .failure].map(\.rawValue) == [0, 1, 2])
    }

    @Test func junitHasOneCasePerRuleAndType() throws {
        let rules = try RulesLoader.parse(
            "identifiers:\n  user_id: {limit: 1}\n  email: {limit: 5, frequency: annually}\n", file: "r.yaml")
        let totals = ScanTotals(
            profiles: 10, identifiers: 50, profilesInViolation: 2,
            excess: [
                ExcessCount(type: "email", reason: .blocked, count: 3, remediable: 2),
                ExcessCount(type: "phone", reason: .blocked, count: 1, remediable: 1),
                ExcessCount(type: "user_id", reason: .limit, count: 4, remediable: 4),
            ])
        let xml = JUnitReport.xml(totals: totals, rules: rules, rulesPath: "rules/<mine>.yaml")
        // Types: email, phone, user_id -> 6 cases; failing: email blocked, phone blocked, user_id limit.
        #expect(xml.contains("<testsuites name=\"idaudit\" tests=\"6\" failures=\"3\">"))
        #expect(xml.contains("<testsuite name=\"rules/&lt;mine&gt;.yaml\""))
        #expect(xml.contains("name=\"email: limit 5 annually\"/>"))
        #expect(xml.contains("name=\"email: blocked values\">\n      <failure message=\"3 blocked values present (2 remediable)\"/>"))
        #expect(xml.contains("name=\"phone: no limit\"/>"))
        #expect(xml.contains("name=\"user_id: limit 1 ever\">\n      <failure message=\"4 identifiers over the limit"))
        #expect(xml.components(separatedBy: "<testcase ").count == 7)
    }
}

/// Issue 5's what-if, on a hand-made store.
struct WhatIfTests {
    @Test func comparesTwoRuleSetsPerType() throws {
        let dir = try TemporaryDirectory("whatif")
        // Profile A: emails on days 1, 2, 3, 40 and user_ids u1, u2; profile B: emails on days 1 and 2.
        let export = try ExportFixture.write(
            in: dir, "e", graph: [],
            mapping: [
                ExportFixture.mapping("m1", "use_A", "email", "a1", day: 1, seq: 1),
                ExportFixture.mapping("m2", "use_A", "email", "a2", day: 2, seq: 2),
                ExportFixture.mapping("m3", "use_A", "email", "a3", day: 3, seq: 3),
                ExportFixture.mapping("m4", "use_A", "user_id", "u1", day: 1, seq: 4),
                ExportFixture.mapping("m5", "use_A", "user_id", "u2", day: 2, seq: 5),
                ExportFixture.mapping("m6", "use_B", "email", "b1", day: 1, seq: 6),
                ExportFixture.mapping("m7", "use_B", "email", "b2", day: 2, seq: 7),
            ])
        let store = try ProfileStore(path: dir.file("s.sqlite"))
        _ = try store.ingest(directory: export)
        let current = try RulesLoader.parse("identifiers:\n  email: {limit: 2}\n  user_id: {limit: 2}\n", file: "c")
        let proposed = try RulesLoader.parse("identifiers:\n  email: {limit: 1}\n  user_id: {limit: 2}\n", file: "p")
        let report = try WhatIf.compare(store: store, current: current, proposed: proposed)
        // email: current limit 2 -> A has 1 excess (a1), B none. Proposed limit 1 -> A 2 (a1, a2), B 1 (b1).
        // Added: A +1, B +1 -> 2 identifiers on 2 profiles. user_id: no excess either way (left out).
        #expect(report.profiles == 2)
        #expect(report.types.map(\.type) == ["email"])
        let email = try #require(report.types.first)
        #expect(email.current == (1, 1))
        #expect(email.proposed == (2, 3))
        #expect(email.added == (2, 2))
        #expect(email.removed == (0, 0))
        let text = report.render(currentName: "c.yaml", proposedName: "p.yaml")
        #expect(text.contains("email: the proposed rules put 2 more identifiers on 2 profiles in excess"))
        // The reverse comparison loosens the rule.
        let reverse = try WhatIf.compare(store: store, current: proposed, proposed: current)
        let loosened = try #require(reverse.types.first)
        #expect(loosened.removed == (2, 2))
        #expect(reverse.render(currentName: "p", proposedName: "c").contains("0 more") == false)
    }
}
