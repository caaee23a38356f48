import Foundation
import IDAuditCore
import IDAuditRules
import Testing

// MARK: - The rule files shipped in rules/

struct ShippedRulesTests {
    /// The package's `rules/` folder, found from this file's path (Tests/IDAuditRulesTests/ShippedRulesTests.swift).
    static let rulesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("rules")

    static func path(_ name: String) -> String {
        rulesDirectory.appendingPathComponent(name).path
    }

    @Test func everyShippedFileLoads() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.rulesDirectory.path)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .sorted()
        #expect(names.contains("segment-defaults.yaml"))
        #expect(names.contains("segment-recommended.yaml"))
        for name in names {
            let rules = try RulesLoader.load(path: Self.path(name))
            #expect(rules.sha256.count == 64, "\(name)")
        }
    }

    @Test func segmentDefaults() throws {
        let rules = try RulesLoader.load(path: Self.path("segment-defaults.yaml"))

        #expect(rules.limits == ["user_id": IdentifierLimit(limit: 1, frequency: .ever)])
        #expect(rules.defaultLimit == IdentifierLimit(limit: 5, frequency: .ever))
        #expect(rules.limit(for: "email") == IdentifierLimit(limit: 5, frequency: .ever))
        #expect(
            rules.blocked.map(\.summary)
                == [#"pattern "^[0-]*$""#, #"value "-1""#, #"value "null""#, #"value "anonymous""#]
        )
        #expect(rules.blocked.allSatisfy { $0.types == nil })
        #expect(rules.protected.isEmpty)
        Self.expectSegmentSuggestedValuesBlocked(rules)
    }

    @Test func segmentRecommended() throws {
        let rules = try RulesLoader.load(path: Self.path("segment-recommended.yaml"))

        #expect(
            rules.limits == [
                "user_id": IdentifierLimit(limit: 1, frequency: .ever),
                "email": IdentifierLimit(limit: 5, frequency: .annually),
                "android.id": IdentifierLimit(limit: 5, frequency: .annually),
                "ios.id": IdentifierLimit(limit: 5, frequency: .annually),
                "anonymous_id": IdentifierLimit(limit: 5, frequency: .weekly),
                "ga_client_id": IdentifierLimit(limit: 5, frequency: .monthly),
            ]
        )
        #expect(rules.defaultLimit == IdentifierLimit(limit: 5, frequency: .ever))
        #expect(
            rules.blocked.map(\.summary)
                == [
                    #"pattern "^[0-]*$""#, #"value "-1""#, #"value "null""#, #"value "anonymous""#, #"value "void""#,
                    #"value "abc123""#,
                ]
        )
        #expect(rules.protected.isEmpty)  // the example entry is commented out
        Self.expectSegmentSuggestedValuesBlocked(rules)
        #expect(rules.blockingEntry(type: "user_id", value: "abc123") != nil)
        #expect(rules.blockingEntry(type: "user_id", value: "ABC123") == nil)
    }

    private static func expectSegmentSuggestedValuesBlocked(_ rules: RuleSet) {
        for value in ["0", "000-000", "---", "", "-1", "null", "anonymous"] {
            #expect(rules.blockingEntry(type: "email", value: value) != nil, "\(value)")
        }
        for value in ["10", "0-1", "Null", "anonymous1", "user@example.com"] {
            #expect(rules.blockingEntry(type: "email", value: value) == nil, "\(value)")
        }
    }
}
