import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditTestSupport
import Testing

/// Issues 4 and 13: apply refuses a plan that is not approved, changed since, too old, or approved for another
/// destination; the plan's age comes from the plan's own bytes.
struct ApprovalTests {
    static let segment = SegmentTarget.destination(space: "spa_test", baseURL: "https://profiles.segment.com")

    func check(_ f: ApplyFixture, _ destination: ApprovedDestination = segment, now: Instant = ApplyFixture.now,
               maxAge: Int64 = 7 * 86_400) throws -> Approval {
        let plan = try f.plan()
        return try Approval.check(
            path: plan.path, sha256: plan.sha256, stamp: plan.stamp, destination: destination, now: now,
            maxAgeSeconds: maxAge)
    }

    @Test func anApprovedPlanPassesAndRecordsWhoWhatAndWhere() throws {
        let f = try ApplyFixture("approve-ok")
        let approval = try Approval.approve(plan: try f.plan(), for: Self.segment, by: " dana@acme.io ", at: ApplyFixture.now)
        #expect(approval.approvedBy == "dana@acme.io")
        #expect(approval.lines == 5)
        #expect(approval.remediable == 4)
        #expect(approval.planCreatedAt == ApplyFixture.now.description)  // the plan's own generated_at
        #expect(approval.rulesSHA256 == f.rules.sha256)
        #expect(approval.destination == "segment/profiles.segment.com/spa_test")
        #expect(approval.destinationDetails == [
            "target": "segment", "endpoint": "https://profiles.segment.com", "space": "spa_test",
        ])
        #expect(try check(f) == approval)
    }

    /// Issue 19: the destination is the whole endpoint. Behind a gateway that routes by path, an approval for
    /// staging must never apply at the root (production); another scheme or port is another destination too.
    @Test(arguments: [
        ("http://127.0.0.1:8080/staging-gateway", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/staging-gateway"),
        ("http://127.0.0.1:8080/staging", "http://127.0.0.1:8080/production"),
        ("https://gw.example.com", "http://gw.example.com"),
        ("https://gw.example.com", "https://gw.example.com:8443"),
    ])
    func anApprovalForOneEndpointIsRefusedAtAnother(_ approved: String, _ applied: String) throws {
        let f = try ApplyFixture("approve-endpoint")
        _ = try Approval.approve(
            plan: try f.plan(), for: SegmentTarget.destination(space: "spa_test", baseURL: approved), by: "dana",
            at: ApplyFixture.now)
        #expect {
            try check(f, SegmentTarget.destination(space: "spa_test", baseURL: applied))
        } throws: { error in
            let message = (error as? ApprovalError)?.message ?? ""
            return message.contains("is approved for") && message.contains(Endpoint(approved).description)
                && message.contains(Endpoint(applied).description)
        }
    }

    /// One endpoint has one key however it is written: case of scheme and host, a default port, a trailing slash,
    /// percent-encoding; the real Segment's key is the one journals had before paths were bound.
    @Test func spellingsOfOneEndpointAreOneDestination() {
        let same = [
            ("HTTP://LocalHost:80/gw/", "http://localhost/gw"), ("https://x.example:443", "https://x.example"),
            ("https://x.example/%7euser/a%2fb", "https://x.example/~user/a%2Fb"), ("https://x.example/", "https://x.example"),
        ]
        for (a, b) in same { #expect(Endpoint(a) == Endpoint(b), "\(a) vs \(b)") }
        #expect(Endpoint("https://x.example/gw") != Endpoint("https://x.example"))
        #expect(SegmentTarget.destination(space: "s", baseURL: "https://profiles.segment.com/").key
                == "segment/profiles.segment.com/s")
        #expect(SegmentTarget.destination(space: "s", baseURL: "http://127.0.0.1:9/gw").key == "segment/http://127.0.0.1:9/gw/s")
    }

    /// A review's findings: an old key of a host stood for any of its paths, so only the platforms' own hosts keep
    /// that form; a space holding `/` cannot make another endpoint's key; the request goes where the key says.
    @Test func keysOfOtherHostsAndSpacesCannotStandForAnotherEndpoint() throws {
        #expect(SegmentTarget.destination(space: "s", baseURL: "https://gw.example.com").key == "segment/https://gw.example.com/s")
        #expect(InsiderTarget.destination(partner: "p", baseURL: "https://unification.useinsider.com", typeMap: InsiderTypeMap())
            .key.hasPrefix("insider/unification.useinsider.com/"))
        #expect(SegmentTarget.destination(space: "spa_1", baseURL: "http://127.0.0.1:9/x").key
                != SegmentTarget.destination(space: "x/spa_1", baseURL: "http://127.0.0.1:9").key)
        let target = SegmentTarget(space: "spa_1", baseURL: "http://127.0.0.1:9/staging///", token: Secret("t"))
        #expect(target.baseURL == "http://127.0.0.1:9/staging")
        #expect(target.destination == SegmentTarget.destination(space: "spa_1", baseURL: "http://127.0.0.1:9/staging").key)
        #expect(Endpoint("https://x.example/caf%C3%A9").description == "https://x.example/caf%C3%A9")
    }

    @Test func anApprovalOfTheEarlierFormatIsRefused() throws {
        let f = try ApplyFixture("approve-old-format")
        _ = try Approval.approve(plan: try f.plan(), for: Self.segment, by: "dana", at: ApplyFixture.now)
        let path = Approval.path(forPlan: try f.plan().path)
        let text = try String(contentsOfFile: path, encoding: .utf8).replacing("idaudit-approval/3", with: "idaudit-approval/2")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try check(f) } throws: { "\($0)".contains("approve it again") }
    }

    @Test(arguments: [
        "https://x.example/?a=1", "https://x.example/#f", "https://x.example/a/../b", "https://x.example/./a",
        "https://http%3A%2F%2F127.0.0.1:8080", "https://x.example:99999", "https://x.example/a//b",
    ])
    func anEndpointWithAQueryOrDotSegmentsIsRefused(_ url: String) {
        #expect(throws: EndpointError.self) { try EndpointPolicy.check(url, allowInsecure: false) }
    }

    @Test func aPlanWithoutApprovalIsRefused() throws {
        let f = try ApplyFixture("approve-none")
        #expect { try check(f) } throws: { ($0 as? ApprovalError)?.message.contains("is not approved") == true }
    }

    @Test func aPlanChangedByOneByteIsRefused() throws {
        let f = try ApplyFixture("approve-changed")
        try f.approve(for: Self.segment)
        var text = try String(contentsOfFile: f.planPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "b@x.com", with: "c@x.com")
        try text.write(toFile: f.planPath, atomically: true, encoding: .utf8)
        #expect { try check(f) } throws: {
            ($0 as? ApprovalError)?.message.contains("changed since it was approved") == true
        }
    }

    @Test func aPlanOlderThanTheMaximumAgeIsRefused() throws {
        let f = try ApplyFixture("approve-old")
        try f.approve(for: Self.segment)
        let eightDaysLater = Instant(microseconds: ApplyFixture.now.microseconds + 8 * 86_400 * 1_000_000)
        #expect { try check(f, now: eightDaysLater) } throws: {
            ($0 as? ApprovalError)?.message.contains("was made 8 d 0 h ago") == true
        }
        // Exactly 7 days is still allowed.
        let sevenDaysLater = Instant(microseconds: ApplyFixture.now.microseconds + 7 * 86_400 * 1_000_000)
        _ = try check(f, now: sevenDaysLater)
    }

    /// Issue 13, item 4: the age came from whatever summary.json sat beside the plan, or the file's mtime.
    @Test func thePlanAgeComesFromThePlanNotFromItsNeighbours() throws {
        let f = try ApplyFixture("approve-age-bound")
        try f.approve(for: Self.segment)
        let eightDaysLater = Instant(microseconds: ApplyFixture.now.microseconds + 8 * 86_400 * 1_000_000)
        // A fresh summary.json and a fresh mtime change nothing: the plan says when it was made.
        let summary = f.dir.file("plan/summary.json")
        try "{\"generated_at\": \"\(eightDaysLater)\"}\n".write(toFile: summary, atomically: true, encoding: .utf8)
        #expect(utime(f.planPath, nil) == 0)
        #expect { try check(f, now: eightDaysLater) } throws: {
            ($0 as? ApprovalError)?.message.contains("was made 8 d 0 h ago") == true
        }
        // Moving the stamp forward changes the bytes, and the approval no longer names them.
        var text = try String(contentsOfFile: f.planPath, encoding: .utf8)
        text = text.replacingOccurrences(of: ApplyFixture.now.description, with: eightDaysLater.description)
        try text.write(toFile: f.planPath, atomically: true, encoding: .utf8)
        #expect { try check(f, now: eightDaysLater) } throws: {
            ($0 as? ApprovalError)?.message.contains("changed since it was approved") == true
        }
    }

    /// Issue 13, item 1: an approval applied the plan to any space, region, endpoint or target.
    @Test(arguments: [
        SegmentTarget.destination(space: "spa_prod", baseURL: "https://profiles.segment.com"),
        SegmentTarget.destination(space: "spa_test", baseURL: SegmentTarget.Region.eu.baseURL),
        SegmentTarget.destination(space: "spa_test", baseURL: "http://127.0.0.1:8080"),
        InsiderTarget.destination(partner: "mybrand", baseURL: InsiderTarget.defaultBaseURL, typeMap: InsiderTypeMap()),
    ])
    func anApprovalForAnotherDestinationIsRefused(_ other: ApprovedDestination) throws {
        let f = try ApplyFixture("approve-elsewhere")
        try f.approve(for: Self.segment)
        #expect { try check(f, other) } throws: { error in
            let message = (error as? ApprovalError)?.message ?? ""
            return message.contains("is approved for segment/profiles.segment.com/spa_test")
                && message.contains("not for \(other.key)")
        }
    }

    @Test func anInsiderApprovalNamesThePartnerHashAndTheTypeMap() throws {
        let f = try ApplyFixture("approve-insider")
        let base = InsiderTarget.destination(partner: "mybrand", baseURL: InsiderTarget.defaultBaseURL, typeMap: InsiderTypeMap())
        let mapped = InsiderTarget.destination(
            partner: "mybrand", baseURL: InsiderTarget.defaultBaseURL,
            typeMap: try InsiderTypeMap.parse("user_id: custom:account\n", file: "map.yaml"))
        let noop = InsiderTarget.destination(
            partner: "mybrand", baseURL: InsiderTarget.defaultBaseURL,
            typeMap: try InsiderTypeMap.parse("email: email\n", file: "map.yaml"))
        let otherPartner = InsiderTarget.destination(
            partner: "otherbrand", baseURL: InsiderTarget.defaultBaseURL, typeMap: InsiderTypeMap())
        #expect(!base.key.contains("mybrand"))
        #expect(mapped.key.hasPrefix(base.key + "/types-"))
        #expect(noop == base)  // a map that changes nothing is the default map
        #expect(otherPartner.key != base.key)
        try f.approve(for: base)
        _ = try check(f, base)
        #expect(throws: ApprovalError.self) { try check(f, mapped) }
        #expect(throws: ApprovalError.self) { try check(f, otherPartner) }
    }

    @Test(arguments: [("7d", 604_800), ("36h", 129_600), ("90m", 5_400), ("600s", 600), ("2", 172_800)])
    func durationsParse(_ text: String, _ seconds: Int64) {
        #expect(parseDuration(text) == seconds)
    }
}

/// Reading a plan: the bytes hashed are the bytes parsed, every line is checked.
struct PlanFileTests {
    static let header = PlanLine.csvColumns.joined(separator: ",")
    static let stamp = ",2026-11-25T00:00:00Z,abc"

    @Test func aBadPlanNamesTheFileAndLine() throws {
        let dir = try TemporaryDirectory("plan-bad")
        let path = try dir.write(
            "plan.csv", Self.header + "\nuse_A,email,a@x.com,limit,1,u1,maybe,2026-11-01T00:00:00Z,1,1,ever," + Self.stamp + "\n")
        #expect {
            try PlanFile.read(path: path)
        } throws: { "\($0)" == "\(path):2: remediable is \"maybe\"; expected true or false" }
        let notAPlan = try dir.write("other.csv", "a,b\n1,2\n")
        #expect {
            try PlanFile.read(path: notAPlan)
        } throws: { "\($0)".contains(":1: not a plan: missing column segment_id") }
    }

    /// Issue 19, item 10: apply reads its lines from a private copy taken as the plan was hashed and checked, as they
    /// are sent; a plan rewritten meanwhile (in place, same size) changes nothing that is sent, and the copy is no
    /// file anyone can open.
    @Test func theSnapshotSendsTheBytesItHashedWhateverHappensToThePlan() throws {
        let dir = try TemporaryDirectory("plan-snapshot")
        let state = dir.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let line = { (value: String) in "use_A,email,\(value),limit,1,u1,true,2026-11-01T00:00:00Z,1,1,ever," + Self.stamp }
        let original = Self.header + "\n" + line("a@x.com") + "\n" + line("b@x.com") + "\n"
        let path = try dir.write("plan.csv", original)
        let snapshot = try PlanSnapshot(path: path, directory: state)
        #expect(snapshot.sha256 == SHA256Digest.hex(of: Array(original.utf8)))
        #expect(snapshot.lineCount == 2 && snapshot.remediable == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state).isEmpty)
        // Rewritten in place, as an editor or an attacker with write access would.
        let forged = original.replacingOccurrences(of: "b@x.com", with: "z@x.com")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data(forged.utf8))
        try handle.close()
        var values: [String] = []
        try snapshot.forEach { values.append($0.value) }
        #expect(values == ["a@x.com", "b@x.com"])
        // Two cursors read one copy each from its start.
        let first = try snapshot.cursor()
        let second = try snapshot.cursor()
        #expect(try first.next()?.line == 1 && first.next()?.line == 2 && second.next()?.line == 1)
    }

    @Test func theSnapshotRefusesWhatReadRefusesAndRepeatedLines() throws {
        let dir = try TemporaryDirectory("plan-snapshot-bad")
        let line = "use_A,email,a@x.com,limit,1,u1,true,2026-11-01T00:00:00Z,1,1,ever," + Self.stamp
        let twice = try dir.write("twice.csv", Self.header + "\n" + line + "\n" + line + "\n")
        #expect {
            try PlanSnapshot(path: twice, directory: dir.path)
        } throws: { "\($0)".hasPrefix("\(twice):2: 1 line(s) name an identifier an earlier line names: line 2 repeats line 1") }
        let bad = try dir.write("bad.csv", Self.header + "\n" + line.replacingOccurrences(of: "true", with: "yes") + "\n")
        #expect {
            try PlanSnapshot(path: bad, directory: dir.path)
        } throws: { "\($0)" == "\(bad):2: remediable is \"yes\"; expected true or false" }
        #expect {
            try PlanSnapshot(path: dir.file("missing.csv"), directory: dir.path)
        } throws: { "\($0)".contains("missing.csv") }
    }

    @Test func aPlanFromAnOlderIdauditIsRefusedWithAHint() throws {
        let dir = try TemporaryDirectory("plan-old")
        let path = try dir.write(
            "plan.csv",
            "segment_id,type,value,reason,rank,lookup_user_id,remediable\nuse_A,email,a@x.com,limit,1,u1,true\n")
        #expect {
            try PlanFile.read(path: path)
        } throws: { "\($0)".contains(":1: not a plan: missing column generated_at (the plan was written by an older") }
    }

    /// Issue 13, item 7: rows with more fields than the header were accepted.
    @Test func aRowWiderThanTheHeaderIsRefused() throws {
        let dir = try TemporaryDirectory("plan-wide")
        let good = "use_A,email,a@x.com,limit,1,u1,true,2026-11-01T00:00:00Z,1,1,ever," + Self.stamp
        let path = try dir.write("plan.csv", Self.header + "\n" + good + "\n" + good + ",extra\n")
        #expect {
            try PlanFile.read(path: path)
        } throws: { "\($0)" == "\(path):3: 15 fields; the header has 14 columns" }
    }

    @Test func linesFromTwoScansAreRefused() throws {
        let dir = try TemporaryDirectory("plan-mixed")
        let line = "use_A,email,a@x.com,limit,1,u1,true,2026-11-01T00:00:00Z,1,1,ever,"
        let path = try dir.write(
            "plan.csv", Self.header + "\n" + line + Self.stamp + "\n" + line + ",2026-11-26T00:00:00Z,abc\n")
        #expect {
            try PlanFile.read(path: path)
        } throws: { "\($0)".contains(":3: generated_at and rules_sha256 differ from the first line's") }
    }

    @Test func theHashIsOfTheBytesParsed() throws {
        let text = Self.header + "\nuse_A,email,a@x.com,limit,1,u1,true,2026-11-01T00:00:00Z,1,1,ever," + Self.stamp + "\n"
        let plan = try PlanFile.parse(bytes: Array(text.utf8), path: "p.csv")
        #expect(plan.sha256 == SHA256Digest.hex(of: Array(text.utf8)))
        #expect(plan.entries.map(\.value) == ["a@x.com"])
        #expect(plan.stamp == PlanStamp(generatedAt: Instant(parsing: "2026-11-25T00:00:00Z")!, rulesSHA256: "abc"))
    }
}
