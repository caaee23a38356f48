import IDAuditCore
import IDAuditRules
import Testing

// MARK: - RuleSet.humanReadableSummary()

struct RuleSetSummaryTests {
    @Test func summaryListsLimitsBlockedAndCountsProtected() throws {
        let rules = try RulesLoader.parse(
            """
            default: {limit: 5}
            identifiers:
              user_id: {limit: 1}
              anonymous_id: {limit: 5, frequency: weekly}
            blocked:
              - pattern: "^[0-]*$"
              - {value: "null", types: [user_id, phone]}
            protected:
              - {type: email, value: ceo@example.com}
            """,
            file: "r.yaml"
        )
        #expect(
            rules.humanReadableSummary() == """
                limits:
                  anonymous_id  5 weekly
                  user_id       1 ever
                  other types   5 ever
                blocked:
                  pattern "^[0-]*$"  every type
                  value "null"       phone, user_id
                protected: 1 identifier
                """
        )
    }

    @Test func emptyRuleSetSaysSo() {
        #expect(
            RuleSet().humanReadableSummary() == """
                limits:
                  other types  no limit
                blocked: none
                protected: none
                """
        )
    }
}
