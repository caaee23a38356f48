import Foundation
import IDAuditCore
import IDAuditRules
import IDAuditScan
import IDAuditStore
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
