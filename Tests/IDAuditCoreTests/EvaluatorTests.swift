import IDAuditCore
import Testing

/// Rules 3 to 8, each with hand-computed expectations. Times are in days from an origin to keep them readable.
struct EvaluatorTests {
    static let day: Int64 = 86_400

    func id(_ type: String, _ value: String, day d: Double, seq: Int64 = 0) -> ProfileIdentifier {
        ProfileIdentifier(
            type: type, value: value, firstSeen: Instant(microseconds: Int64(d * Double(Self.day) * 1_000_000)),
            seq: seq)
    }

    func evaluate(_ rules: RuleSet, _ ids: [ProfileIdentifier], canonical: String = "use_P") -> ProfileEvaluation {
        Evaluator(rules: rules).evaluate(Profile(canonicalID: canonical, identifiers: ids))
    }

    func excess(_ e: ProfileEvaluation) -> [String] { e.lines.map { "\($0.type):\($0.value)" } }

    // MARK: - Rule 3: blocked

    @Test func blockedValuesAreExcessAndDoNotCountTowardLimits() throws {
        let rules = RuleSet(
            limits: ["email": IdentifierLimit(limit: 2)],
            blocked: [
                BlockedEntry(matcher: .value("null")),
                BlockedEntry(matcher: .pattern(try CompiledPattern("^[0-]*$")), types: ["user_id", "phone"]),
            ])
        let e = evaluate(
            rules,
            [
                id("email", "a@x.com", day: 1), id("email", "null", day: 2), id("email", "b@x.com", day: 3),
                id("phone", "0000", day: 1), id("email", "0000", day: 4), id("user_id", "u1", day: 1),
            ])
        // email: "null" blocked; the other three (a, b, 0000: the pattern applies to user_id and phone only) count:
        // limit 2 -> the oldest one (a@x.com) is excess. phone "0000" is blocked by the pattern.
        #expect(excess(e) == ["email:a@x.com", "email:null", "phone:0000"])
        #expect(e.lines.map(\.reason) == [.limit, .blocked, .blocked])
        #expect(e.lines[1].matched == "value \"null\"")
        #expect(e.lines[2].matched == "pattern \"^[0-]*$\"")
        #expect(e.types.first { $0.type == "email" }?.counted == 3)
    }

    @Test func aProtectedValueIsNeverBlockedAndCounts() {
        let rules = RuleSet(
            limits: ["email": IdentifierLimit(limit: 1)], blocked: [BlockedEntry(matcher: .value("team@x.com"))],
            protected: [ProtectedIdentifier(type: "email", value: "team@x.com")])
        let e = evaluate(rules, [id("email", "team@x.com", day: 1), id("email", "me@x.com", day: 2)])
        // The protected value takes the only slot, so the newer, unprotected email is excess.
        #expect(excess(e) == ["email:me@x.com"])
        #expect(e.verdicts.map(\.status) == [.protected, .excess])
    }

    @Test func patternsSearchUnanchored() throws {
        let rules = RuleSet(blocked: [BlockedEntry(matcher: .pattern(try CompiledPattern("test")))])
        let e = evaluate(rules, [id("email", "my.test@x.com", day: 1), id("email", "Test@x.com", day: 2)])
        #expect(excess(e) == ["email:my.test@x.com"])
    }

    // MARK: - Rule 4: ever

    @Test func everKeepsTheNewestAndDeletesTheOldest() {
        let rules = RuleSet(limits: ["email": IdentifierLimit(limit: 2)])
        let e = evaluate(
            rules,
            [
                id("email", "d", day: 4), id("email", "a", day: 1), id("email", "c", day: 3), id("email", "b", day: 2),
            ])
        #expect(excess(e) == ["email:a", "email:b"])
        #expect(e.lines.map(\.rank) == [1, 2])
        #expect(e.types[0].kept == ["c", "d"])
    }

    @Test func protectedIdentifiersReduceTheAllowance() {
        // limit 2, P = {p}, C = {a, b, c}: allowance 1, so the oldest two of C are excess.
        let rules = RuleSet(
            limits: ["email": IdentifierLimit(limit: 2)], protected: [ProtectedIdentifier(type: "email", value: "p")])
        let e = evaluate(
            rules, [id("email", "p", day: 0), id("email", "a", day: 1), id("email", "b", day: 2), id("email", "c", day: 3)])
        #expect(excess(e) == ["email:a", "email:b"])
    }

    @Test func moreProtectedThanTheLimitDeletesEveryOther() {
        // limit 1, |P| = 2: allowance max(0, 1 - 2) = 0, so all of C is excess; P stays.
        let rules = RuleSet(
            limits: ["email": IdentifierLimit(limit: 1)],
            protected: [ProtectedIdentifier(type: "email", value: "p1"), ProtectedIdentifier(type: "email", value: "p2")])
        let e = evaluate(rules, [id("email", "p1", day: 0), id("email", "x", day: 5), id("email", "p2", day: 9)])
        #expect(excess(e) == ["email:x"])
    }

    @Test func ordersTiesBySeqThenValueBytes() {
        let rules = RuleSet(limits: ["email": IdentifierLimit(limit: 1)])
        // Same first_seen: seq decides; same seq too: byte order of the value ("B" < "a").
        let e = evaluate(
            rules,
            [id("email", "a", day: 1, seq: 7), id("email", "B", day: 1, seq: 7), id("email", "z", day: 1, seq: 3)])
        #expect(excess(e) == ["email:z", "email:B"])
    }

    @Test func typesWithoutAnEntryUseTheDefaultOrHaveNoLimit() {
        let ids = (0..<7).map { id("phone", "p\($0)", day: Double($0)) }
        #expect(evaluate(RuleSet(), ids).lines.isEmpty)
        let withDefault = evaluate(RuleSet(defaultLimit: IdentifierLimit(limit: 5)), ids)
        #expect(excess(withDefault) == ["phone:p0", "phone:p1"])
    }

    @Test func limitZeroDeletesEverything() {
        let e = evaluate(RuleSet(limits: ["ga_client_id": IdentifierLimit(limit: 0)]), [id("ga_client_id", "g", day: 1)])
        #expect(excess(e) == ["ga_client_id:g"])
    }

    // MARK: - Rule 5: windows

    @Test func weeklyWindowEvictsTheOldestInsideTheWindow() {
        // limit 2 weekly; days 0, 1, 2, 10, 11, 12.5.
        // day 2: window (-5, 2] holds 0, 1, 2 -> evict 0. day 10: (3, 10] holds 10. day 11: 10, 11.
        // day 12.5: (5.5, 12.5] holds 10, 11, 12.5 -> evict 10.
        let rules = RuleSet(limits: ["anonymous_id": IdentifierLimit(limit: 2, frequency: .weekly)])
        let days = [0, 1, 2, 10, 11, 12.5]
        let e = evaluate(rules, days.map { id("anonymous_id", "a\($0)", day: $0) })
        #expect(excess(e) == ["anonymous_id:a0.0", "anonymous_id:a10.0"])
        #expect(e.lines.map(\.rank) == [1, 2])
        #expect(e.types[0].kept == ["a1.0", "a2.0", "a11.0", "a12.5"])
    }

    @Test func theWindowExcludesAnIdentifierExactlyWAgo() {
        // limit 1 weekly: day 0 and day 7 -> window (0, 7] holds only day 7; nothing is excess.
        let rules = RuleSet(limits: ["anonymous_id": IdentifierLimit(limit: 1, frequency: .weekly)])
        #expect(evaluate(rules, [id("anonymous_id", "a", day: 0), id("anonymous_id", "b", day: 7)]).lines.isEmpty)
        // Just inside: day 0 and day 6.999 -> the older one is excess.
        let inside = evaluate(rules, [id("anonymous_id", "a", day: 0), id("anonymous_id", "b", day: 6.999)])
        #expect(excess(inside) == ["anonymous_id:a"])
    }

    @Test func windowsOfEachFrequency() {
        // limit 1; two identifiers 29 days apart: daily and weekly and ... monthly (30 days) holds both.
        let ids = [id("email", "old", day: 0), id("email", "new", day: 29)]
        for (frequency, expected) in [
            (Frequency.daily, [String]()), (.weekly, []), (.monthly, ["email:old"]), (.annually, ["email:old"]),
            (.ever, ["email:old"]),
        ] {
            let e = evaluate(RuleSet(limits: ["email": IdentifierLimit(limit: 1, frequency: frequency)]), ids)
            #expect(excess(e) == expected, "\(frequency)")
        }
        // 364 vs 366 days apart: annually is 365 days.
        let year = RuleSet(limits: ["email": IdentifierLimit(limit: 1, frequency: .annually)])
        #expect(evaluate(year, [id("email", "a", day: 0), id("email", "b", day: 364)]).lines.count == 1)
        #expect(evaluate(year, [id("email", "a", day: 0), id("email", "b", day: 366)]).lines.isEmpty)
    }

    @Test func windowedEvictionSkipsProtectedAndStopsWhenAllAreProtected() {
        let rules = RuleSet(
            limits: ["anonymous_id": IdentifierLimit(limit: 1, frequency: .weekly)],
            protected: [
                ProtectedIdentifier(type: "anonymous_id", value: "p1"), ProtectedIdentifier(type: "anonymous_id", value: "p2"),
            ])
        // p1 day 0 (protected), x day 1: window holds p1, x -> evict x (the oldest non-protected).
        // p2 day 2: window holds p1, p2 -> all protected: stop. Both stay.
        let e = evaluate(
            rules, [id("anonymous_id", "p1", day: 0), id("anonymous_id", "x", day: 1), id("anonymous_id", "p2", day: 2)])
        #expect(excess(e) == ["anonymous_id:x"])
    }

    @Test func evictedIdentifiersLeaveTheWindow() {
        // limit 2 weekly; days 0, 1, 2, 3: at day 2 evict 0 (kept 1, 2); at day 3 window holds 1, 2, 3 -> evict 1.
        let rules = RuleSet(limits: ["anonymous_id": IdentifierLimit(limit: 2, frequency: .weekly)])
        let e = evaluate(rules, (0..<4).map { id("anonymous_id", "a\($0)", day: Double($0)) })
        #expect(excess(e) == ["anonymous_id:a0", "anonymous_id:a1"])
    }

    // MARK: - Rules 6, 7, 8: lookup, rank, remediable

    @Test func lookupIsTheNewestUserIDThatStays() {
        let rules = RuleSet(limits: ["user_id": IdentifierLimit(limit: 1)], blocked: [BlockedEntry(matcher: .value("-1"))])
        let e = evaluate(
            rules, [id("user_id", "u-old", day: 1), id("user_id", "u-new", day: 2), id("user_id", "-1", day: 3)])
        // "-1" is blocked (does not count); of u-old and u-new the oldest is excess; u-new stays and is the lookup.
        #expect(excess(e) == ["user_id:u-old", "user_id:-1"])
        #expect(e.lookupUserID == "u-new")
        #expect(e.lines.allSatisfy { $0.lookupUserID == "u-new" && $0.remediable })
    }

    @Test func rankCountsBlockedAndLimitTogetherOldestFirst() {
        // email limit 1: e1 day 1, "null" day 2 (blocked), e3 day 3, e4 day 4 -> C = e1, e3, e4: e1 and e3 excess.
        let rules = RuleSet(limits: ["email": IdentifierLimit(limit: 1)], blocked: [BlockedEntry(matcher: .value("null"))])
        let e = evaluate(
            rules,
            [
                id("email", "e4", day: 4), id("email", "null", day: 2), id("email", "e1", day: 1), id("email", "e3", day: 3),
                id("user_id", "u", day: 1),
            ])
        #expect(excess(e) == ["email:e1", "email:null", "email:e3"])
        #expect(e.lines.map(\.rank) == [1, 2, 3])
        #expect(e.lines.map(\.reason) == [.limit, .blocked, .limit])
    }

    @Test func anonymousOnlyProfilesAndGroupIDsAreNotRemediable() {
        let rules = RuleSet(defaultLimit: IdentifierLimit(limit: 1))
        let anonymous = evaluate(rules, [id("anonymous_id", "a1", day: 1), id("anonymous_id", "a2", day: 2)])
        #expect(anonymous.lines.count == 1)
        #expect(anonymous.lines[0].lookupUserID == "")
        #expect(anonymous.lines[0].remediable == false)
        let group = evaluate(
            rules, [id("group_id", "g1", day: 1), id("group_id", "g2", day: 2), id("user_id", "u", day: 1)])
        #expect(group.lines.map(\.remediable) == [false])
        #expect(group.lines[0].lookupUserID == "u")
    }

    @Test func linesAreInPlanOrderTypesByBytes() {
        let rules = RuleSet(defaultLimit: IdentifierLimit(limit: 0))
        let e = evaluate(rules, [id("email", "e", day: 1), id("Email", "E", day: 1), id("anonymous_id", "a", day: 1)])
        #expect(e.lines.map(\.type) == ["Email", "anonymous_id", "email"])
        #expect(e.lines.allSatisfy { $0.segmentID == "use_P" })
    }
}

/// The byte-class fast path must agree with ICU wherever it is used.
struct PatternFastPathTests {
    static let inputs = [
        "", "0", "000", "-1", "0-0-", "--", "0a", "a0", "null", "0000\n", "00\r\n", "0\r", "\n", "0\u{2028}", "00\n\n",
        "é", "0é", " 0", "0 ", "abc", "ABC", "a-c", "b", "z", "_", "0\u{85}", "0\u{0B}", "0\u{0C}", "0\u{2029}",
    ]

    @Test(arguments: ["^[0-]*$", "^[0-]+$", "^[a-c]+$", "^[-a]*$", "^[0-9a-fA-F_ ]+$", "^[x]*$"])
    func agreesWithICU(pattern: String) throws {
        let compiled = try CompiledPattern(pattern)
        for input in Self.inputs {
            #expect(compiled.matches(input) == compiled.matchesWithICU(input), "\(pattern) on \(input.debugDescription)")
        }
    }

    @Test func otherShapesUseICU() throws {
        // Negated sets, escapes and unanchored patterns are not taken by the fast path; the answer is ICU's.
        for pattern in ["^[^0]*$", "^[\\d]+$", "[0-]*", "^0+$", "^[0-]*"] {
            let compiled = try CompiledPattern(pattern)
            for input in Self.inputs {
                #expect(compiled.matches(input) == compiled.matchesWithICU(input))
            }
        }
    }
}

struct PlanLineFormatTests {
    @Test(arguments: [
        PlanLine(
            segmentID: "use_A", type: "email", value: "a,\"b\"@x.com", reason: .blocked, rank: 2, lookupUserID: "u 1",
            remediable: true, firstSeen: Instant(microseconds: 1_795_428_930_000_120), seq: 7, matched: "value \"null\""),
        PlanLine(
            segmentID: "use_B", type: "anonymous_id", value: "x\ny", reason: .limit, rank: 1, lookupUserID: "",
            remediable: false, firstSeen: Instant(seconds: 0), seq: -3, limit: IdentifierLimit(limit: 5, frequency: .weekly)),
        PlanLine(
            segmentID: "use_C", type: "user_id", value: "u", reason: .requested, rank: 10, lookupUserID: "v",
            remediable: true, firstSeen: Instant(seconds: 86_400 * 365 * 30), seq: 1),
    ])
    func csvRecordIsTheEscapedFields(line: PlanLine) {
        #expect(line.csvRecord == line.csvFields.map(CSVText.escape).joined(separator: ","))
        #expect(line.csvFields.count == PlanLine.lineColumns.count)
    }

    @Test func escapesOnlyWhatNeedsIt() {
        #expect(CSVText.escape("plain") == "plain")
        #expect(CSVText.escape("a,b") == "\"a,b\"")
        #expect(CSVText.escape("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVText.escape("two\nlines") == "\"two\nlines\"")
    }
}
