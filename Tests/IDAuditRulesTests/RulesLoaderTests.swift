import Foundation
import IDAuditCore
import IDAuditRules
import Testing

// MARK: - Reading good files

struct RulesLoaderTests {
    /// Every section, in both flow and block style; line numbers are referred to by the tests below.
    static let goodFile = """
        # A rules file using every feature.
        default: {limit: 5, frequency: ever}
        identifiers:
          user_id: {limit: 1}
          anonymous_id: {limit: 5, frequency: weekly}
          email:
            limit: 3
            frequency: annually
          ga_client_id: {limit: 0, frequency: monthly}
        blocked:
          - value: null
          - value: -1
          - pattern: "^[0-]*$"
            types: [user_id, phone]
        protected:
          - {type: email, value: ceo@example.com}
          - {type: user_id, value: null}

        """

    @Test func readsLimitsDefaultBlockedAndProtected() throws {
        let rules = try RulesLoader.parse(Self.goodFile, file: "good.yaml")

        #expect(rules.defaultLimit == IdentifierLimit(limit: 5, frequency: .ever))
        #expect(
            rules.limits == [
                "user_id": IdentifierLimit(limit: 1, frequency: .ever),
                "anonymous_id": IdentifierLimit(limit: 5, frequency: .weekly),
                "email": IdentifierLimit(limit: 3, frequency: .annually),
                "ga_client_id": IdentifierLimit(limit: 0, frequency: .monthly),
            ]
        )
        #expect(rules.blocked.map(\.summary) == [#"value "null""#, #"value "-1""#, #"pattern "^[0-]*$""#])
        #expect(rules.blocked.map(\.types) == [nil, nil, ["user_id", "phone"]])
        #expect(
            rules.protected == [
                ProtectedIdentifier(type: "email", value: "ceo@example.com"),
                ProtectedIdentifier(type: "user_id", value: "null"),
            ]
        )
        // A type without an entry falls back to the default.
        #expect(rules.limit(for: "phone") == IdentifierLimit(limit: 5, frequency: .ever))
    }

    @Test func typeWithoutEntryAndWithoutDefaultHasNoLimit() throws {
        let rules = try RulesLoader.parse("identifiers:\n  user_id: {limit: 1}\n", file: "r.yaml")
        #expect(rules.defaultLimit == nil)
        #expect(rules.limit(for: "user_id") == IdentifierLimit(limit: 1, frequency: .ever))
        #expect(rules.limit(for: "email") == nil)
    }

    @Test func unquotedScalarsAreLiteralText() throws {
        let yaml = """
            identifiers:
              null: {limit: 1}
              1: {limit: "2"}
            blocked:
              - value: null
              - value: -1
              - value: ~
              - value: 0x10
              - value: true
              - value: ""
              - {value: 1e3, types: [null, -1]}
            protected:
              - {type: phone, value: -1}
            """
        let rules = try RulesLoader.parse(yaml, file: "r.yaml")

        #expect(rules.limits == ["null": IdentifierLimit(limit: 1), "1": IdentifierLimit(limit: 2)])
        #expect(
            rules.blocked.map(\.summary)
                == [#""null""#, #""-1""#, #""~""#, #""0x10""#, #""true""#, #""""#, #""1e3""#].map { "value \($0)" }
        )
        #expect(rules.blocked[6].types == ["null", "-1"])
        #expect(rules.protected == [ProtectedIdentifier(type: "phone", value: "-1")])
        #expect(rules.blockingEntry(type: "email", value: "null")?.summary == #"value "null""#)
        #expect(rules.blockingEntry(type: "email", value: "16") == nil)
    }

    @Test func typesScopeABlockedEntry() throws {
        let rules = try RulesLoader.parse(Self.goodFile, file: "good.yaml")
        let zeroes = rules.blocked[2]

        #expect(zeroes.blocks(type: "user_id", value: "000-000"))
        #expect(zeroes.blocks(type: "phone", value: "0"))
        #expect(zeroes.blocks(type: "phone", value: ""))  // ^[0-]*$ matches the empty string
        #expect(!zeroes.blocks(type: "email", value: "000-000"))  // not one of its types
        #expect(!zeroes.blocks(type: "user_id", value: "100"))
        // Unscoped entries apply to every type, exactly and case-sensitively.
        #expect(rules.blocked[0].blocks(type: "anything", value: "null"))
        #expect(!rules.blocked[0].blocks(type: "anything", value: "NULL"))
        #expect(rules.blockingEntry(type: "email", value: "000") == nil)
        #expect(rules.blockingEntry(type: "user_id", value: "000")?.summary == #"pattern "^[0-]*$""#)
    }

    @Test(arguments: [
        "",
        "# only comments\n\n   # and blank lines\n",
        "---\n",
        "~\n",
        "default:\nidentifiers:\nblocked:\n#  - value: x\nprotected:\n",
    ])
    func emptyFileIsAnEmptyRuleSet(text: String) throws {
        let rules = try RulesLoader.parse(text, file: "empty.yaml")
        #expect(rules.defaultLimit == nil)
        #expect(rules.limits.isEmpty)
        #expect(rules.blocked.isEmpty)
        #expect(rules.protected.isEmpty)
        #expect(rules.limit(for: "user_id") == nil)
    }

    // MARK: - SHA-256

    @Test func sha256IsOfTheExactText() throws {
        // Expected digests from coreutils' sha256sum.
        #expect(
            try RulesLoader.parse("", file: "r.yaml").sha256
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        #expect(
            try RulesLoader.parse("default: {limit: 5}\n", file: "r.yaml").sha256
                == "659fe3662e8a2d96a0e1c72957a6dba6b42746338120939bc281216f64f8fbd7"
        )
    }

    @Test func loadHashesTheFileBytes() throws {
        // A BOM and CRLF line ends: the digest must cover them as they are on disk.
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("identifiers:\r\n  user_id: {limit: 1}\r\n".utf8)
        let path = try temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let rules = try RulesLoader.load(path: path)
        #expect(rules.sha256 == "94511956b85f24a5999de5215abbc197f18338e0795ba3424ae3fac13d1e355c")
        #expect(rules.limits == ["user_id": IdentifierLimit(limit: 1)])
    }

    // MARK: - Files that cannot be read

    @Test func missingFileIsUnreadable() {
        let path = "/nonexistent/idaudit/rules.yaml"
        #expect {
            try RulesLoader.load(path: path)
        } throws: { error in
            let error = error as? RulesError
            return error?.code == .unreadableFile && error?.line == nil && error?.file == path
                && error?.description == "\(path): cannot read the rules file: no such file"
        }
    }

    @Test func invalidUTF8NamesItsLine() throws {
        let path = try temporaryFile(Array("identifiers:\n  user_id: {limit: 1}\n".utf8) + [0xFF, 0x0A])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            try RulesLoader.load(path: path)
        } throws: { error in
            let error = error as? RulesError
            return error?.code == .invalidEncoding && error?.line == 3
        }
    }

    // MARK: - Errors

    /// A broken rules file and where the error must point.
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var line: Int?
        var key: String?
        var code: RulesError.Code
        /// Text the message must contain, beyond line and key.
        var mentions: String = ""

        var testDescription: String { name }
    }

    static let errorCases: [ErrorCase] = [
        // Unknown keys, at every level.
        ErrorCase(
            name: "unknown top-level key", yaml: "identifiers:\n  user_id: {limit: 1}\nblocks:\n  - value: x\n",
            line: 3, key: "blocks", code: .unknownKey, mentions: "default, identifiers, blocked, protected"
        ),
        ErrorCase(
            name: "unknown key in caps", yaml: "caps: {merges: 100, identifiers: 5}\n",
            line: 1, key: "caps.identifiers", code: .unknownKey, mentions: "merges, mappings"
        ),
        ErrorCase(
            name: "a cap of zero", yaml: "caps:\n  mappings: 0\n",
            line: 2, key: "caps.mappings", code: .invalidLimit, mentions: "1 or more"
        ),
        ErrorCase(
            name: "unknown key in a limit", yaml: "identifiers:\n  email: {limit: 5, frequncy: weekly}\n",
            line: 2, key: "identifiers.email.frequncy", code: .unknownKey, mentions: "limit, frequency"
        ),
        ErrorCase(
            name: "unknown key in the default", yaml: "default: {limit: 5, per: day}\n",
            line: 1, key: "default.per", code: .unknownKey
        ),
        ErrorCase(
            name: "unknown key in a blocked entry", yaml: "blocked:\n  - value: x\n  - value: y\n    type: [email]\n",
            line: 4, key: "blocked[1].type", code: .unknownKey, mentions: "value, pattern, types"
        ),
        ErrorCase(
            name: "unknown key in a protected entry", yaml: "protected:\n  - {type: email, value: a@b.c, note: x}\n",
            line: 2, key: "protected[0].note", code: .unknownKey, mentions: "type, value"
        ),
        // Limits.
        ErrorCase(
            name: "negative limit", yaml: "identifiers:\n  user_id: {limit: -1}\n",
            line: 2, key: "identifiers.user_id.limit", code: .invalidLimit, mentions: "negative"
        ),
        ErrorCase(
            name: "fractional limit", yaml: "identifiers:\n  user_id:\n    limit: 1.5\n",
            line: 3, key: "identifiers.user_id.limit", code: .invalidLimit, mentions: "\"1.5\""
        ),
        ErrorCase(
            name: "limit in words", yaml: "default:\n  limit: five\n",
            line: 2, key: "default.limit", code: .invalidLimit, mentions: "whole number"
        ),
        ErrorCase(
            name: "limit too large", yaml: "default: {limit: 99999999999999999999}\n",
            line: 1, key: "default.limit", code: .invalidLimit, mentions: "too large"
        ),
        ErrorCase(
            name: "limit is a list", yaml: "default: {limit: [5]}\n",
            line: 1, key: "default.limit", code: .wrongKind, mentions: "found a list"
        ),
        ErrorCase(
            name: "missing limit", yaml: "identifiers:\n  user_id: {limit: 1}\n  email: {frequency: weekly}\n",
            line: 3, key: "identifiers.email.limit", code: .missingKey
        ),
        ErrorCase(
            name: "missing limit in the default", yaml: "\ndefault: {frequency: weekly}\n",
            line: 2, key: "default.limit", code: .missingKey
        ),
        ErrorCase(
            name: "unknown frequency", yaml: "identifiers:\n  email:\n    limit: 5\n    frequency: hourly\n",
            line: 4, key: "identifiers.email.frequency", code: .unknownFrequency,
            mentions: "\"hourly\"; expected one of ever, daily, weekly, monthly, annually"
        ),
        ErrorCase(
            name: "frequency in capitals", yaml: "default: {limit: 5, frequency: Weekly}\n",
            line: 1, key: "default.frequency", code: .unknownFrequency
        ),
        // Blocked entries.
        ErrorCase(
            name: "pattern that does not compile", yaml: "blocked:\n  - value: x\n  - pattern: \"(unclosed\"\n",
            line: 3, key: "blocked[1].pattern", code: .invalidPattern, mentions: "\"(unclosed\""
        ),
        ErrorCase(
            name: "empty pattern", yaml: "blocked:\n  - pattern: \"\"\n",
            line: 2, key: "blocked[0].pattern", code: .emptyValue
        ),
        ErrorCase(
            name: "value and pattern", yaml: "blocked:\n  - {value: x, pattern: y}\n",
            line: 2, key: "blocked[0]", code: .invalidEntry, mentions: "not both"
        ),
        ErrorCase(
            name: "neither value nor pattern", yaml: "blocked:\n  - value: x\n  - types: [email]\n",
            line: 3, key: "blocked[1]", code: .invalidEntry
        ),
        ErrorCase(
            name: "empty value", yaml: "blocked:\n  - {value: , types: [email]}\n",
            line: 2, key: "blocked[0].value", code: .emptyValue, mentions: #"write "" to mean the empty text"#
        ),
        ErrorCase(
            name: "types not a list", yaml: "blocked:\n  - {value: x, types: email}\n",
            line: 2, key: "blocked[0].types", code: .wrongKind, mentions: "found the text \"email\""
        ),
        ErrorCase(
            name: "empty types", yaml: "blocked:\n  - {value: x, types: []}\n",
            line: 2, key: "blocked[0].types", code: .emptyValue
        ),
        ErrorCase(
            name: "empty type in types", yaml: "blocked:\n  - value: x\n    types:\n      - email\n      - \"\"\n",
            line: 5, key: "blocked[0].types[1]", code: .emptyValue
        ),
        ErrorCase(
            name: "blocked entry is text", yaml: "blocked:\n  - \"null\"\n",
            line: 2, key: "blocked[0]", code: .wrongKind, mentions: "found the text \"null\""
        ),
        // Protected entries.
        ErrorCase(
            name: "protected without type", yaml: "protected:\n  - {value: a@b.c}\n",
            line: 2, key: "protected[0].type", code: .missingKey
        ),
        ErrorCase(
            name: "protected without value", yaml: "protected:\n  - {type: email, value: a@b.c}\n  - type: email\n",
            line: 3, key: "protected[1].value", code: .missingKey
        ),
        // Wrong kinds of node.
        ErrorCase(
            name: "document is a list", yaml: "- user_id\n- email\n",
            line: 1, key: nil, code: .wrongKind, mentions: "found a list"
        ),
        ErrorCase(
            name: "identifiers is a list", yaml: "identifiers:\n  - user_id\n",
            line: 2, key: "identifiers", code: .wrongKind, mentions: "found a list"
        ),
        ErrorCase(
            name: "blocked is a mapping", yaml: "blocked:\n  value: x\n",
            line: 2, key: "blocked", code: .wrongKind, mentions: "found a mapping"
        ),
        ErrorCase(
            name: "limit written as a number", yaml: "identifiers:\n  user_id: 1\n",
            line: 2, key: "identifiers.user_id", code: .wrongKind, mentions: "found the text \"1\""
        ),
        ErrorCase(
            name: "type left empty", yaml: "identifiers:\n  user_id:\n",
            line: 2, key: "identifiers.user_id", code: .wrongKind, mentions: "found nothing"
        ),
        ErrorCase(
            name: "key that is a list", yaml: "identifiers:\n  [a, b]: {limit: 1}\n",
            line: 2, key: "identifiers", code: .wrongKind
        ),
        ErrorCase(
            name: "empty identifier type", yaml: "identifiers:\n  \"\": {limit: 1}\n",
            line: 2, key: #"identifiers."""#, code: .emptyValue
        ),
        // Duplicate keys.
        ErrorCase(
            name: "duplicate identifier type",
            yaml: "identifiers:\n  user_id: {limit: 1}\n  email: {limit: 5}\n  user_id: {limit: 2}\n",
            line: 4, key: "identifiers.user_id", code: .duplicateKey, mentions: "first given on line 2"
        ),
        ErrorCase(
            name: "duplicate type, quoted then plain",
            yaml: "identifiers: {\"android.id\": {limit: 1},\n  android.id: {limit: 2}}\n",
            line: 2, key: "identifiers.android.id", code: .duplicateKey, mentions: "first given on line 1"
        ),
        ErrorCase(
            name: "type given three times",
            yaml: "identifiers:\n  email: {limit: 1}\n  email: {limit: 2}\n  email: {limit: 3}\n",
            line: 3, key: "identifiers.email", code: .duplicateKey, mentions: "first given on line 2"
        ),
        ErrorCase(
            // An anchored key cannot be renamed, so the error is Yams' own: the first occurrence, without a path.
            name: "duplicate type with an anchor", yaml: "identifiers:\n  &a email: {limit: 1}\n  email: {limit: 2}\n",
            line: 2, key: nil, code: .duplicateKey, mentions: #"duplicate key "email""#
        ),
        ErrorCase(
            name: "duplicate key in a limit", yaml: "identifiers:\n  email:\n    limit: 1\n    limit: 2\n",
            line: 4, key: "identifiers.email.limit", code: .duplicateKey
        ),
        ErrorCase(
            name: "duplicate section", yaml: "blocked: []\nprotected: []\nblocked: []\n",
            line: 3, key: "blocked", code: .duplicateKey
        ),
        // YAML syntax.
        ErrorCase(
            name: "tab indentation", yaml: "identifiers:\n\tuser_id: {limit: 1}\n",
            line: 2, key: nil, code: .invalidYAML
        ),
        ErrorCase(
            name: "mapping value in a plain scalar", yaml: "default: {limit: 5}\nidentifiers: user_id: {limit: 1}\n",
            line: 2, key: nil, code: .invalidYAML, mentions: "mapping values are not allowed"
        ),
        ErrorCase(
            name: "two documents", yaml: "identifiers: {}\n---\nblocked: []\n",
            line: 2, key: nil, code: .invalidYAML
        ),
    ]

    @Test(arguments: errorCases)
    func errorNamesFileLineAndKey(_ errorCase: ErrorCase) throws {
        let error = try #require(parseError(errorCase.yaml))
        #expect(error.code == errorCase.code)
        #expect(error.file == "rules.yaml")
        #expect(error.line == errorCase.line)
        #expect(error.key == errorCase.key)
        #expect(errorCase.mentions.isEmpty || error.message.contains(errorCase.mentions), "\(error)")
        let line = errorCase.line.map { ":\($0)" } ?? ""
        let key = errorCase.key.map { "\($0): " } ?? ""
        #expect(error.description == "rules.yaml\(line): \(key)\(error.message)")
    }

    @Test func descriptionReadsFileLineKeyMessage() throws {
        let error = try #require(parseError("identifiers:\n  user_id: {limit: 1}\n  user_id: {limit: 2}\n"))
        #expect(
            error.description
                == "rules.yaml:3: identifiers.user_id: duplicate key, first given on line 2; give each key once"
        )
        let frequency = try #require(parseError("default:\n  limit: 5\n  frequency: hourly\n"))
        #expect(
            frequency.description
                == #"rules.yaml:3: default.frequency: unknown frequency "hourly"; "#
                + "expected one of ever, daily, weekly, monthly, annually"
        )
    }

    // MARK: - Helpers

    private func parseError(_ yaml: String) -> RulesError? {
        do {
            _ = try RulesLoader.parse(yaml, file: "rules.yaml")
            return nil
        } catch {
            return error
        }
    }

    private func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("idaudit-rules-\(UUID().uuidString).yaml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
