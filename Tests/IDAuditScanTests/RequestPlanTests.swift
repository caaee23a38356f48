import Foundation
import IDAuditCore
import IDAuditRules
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Issue 7: every resolution outcome of a deletion request, on a hand-made store.
struct RequestPlanTests {
    let dir: TemporaryDirectory
    let store: ProfileStore
    let now = Instant(parsing: "2026-11-25 00:00:00")!

    /// use_A (use_B merged in): user_ids u1 (day 1), u2 (day 3); emails a (day 1), b (day 2), ceo (day 4); group g1.
    /// use_C: no user_id; email c. use_D: user_id d1, email d. gone@x.com was removed.
    init() throws {
        dir = try TemporaryDirectory("requests")
        store = try ProfileStore(path: dir.file("store.sqlite"))
        let export = try F.write(
            in: dir, "export",
            graph: [F.graph("use_A", "use_A", seq: 1), F.graph("use_B", "use_A", seq: 2)],
            mapping: [
                F.mapping("m01", "use_A", "user_id", "u1", day: 1, seq: 10),
                F.mapping("m02", "use_B", "user_id", "u2", day: 3, seq: 30),
                F.mapping("m03", "use_A", "email", "a@x.com", day: 1, seq: 11),
                F.mapping("m04", "use_B", "email", "b@x.com", day: 2, seq: 20),
                F.mapping("m05", "use_A", "email", "ceo@x.com", day: 4, seq: 40),
                F.mapping("m06", "use_A", "group_id", "g1", day: 1, seq: 12),
                F.mapping("m07", "use_C", "email", "c@x.com", day: 1, seq: 13),
                F.mapping("m08", "use_D", "user_id", "d1", day: 1, seq: 14),
                F.mapping("m09", "use_D", "email", "d@x.com", day: 2, seq: 21),
                F.mapping("m10", "use_D", "email", "gone@x.com", day: 2, seq: 22),
                F.mapping("m11", "use_D", "email", "gone@x.com", day: 3, seq: 31, removed: true),
            ])
        _ = try store.ingest(directory: export)
    }

    static let requests = """
        Type,VALUE,segment_id,note
        email,a@x.com,,
        email,b@x.com,use_B,"imported by mistake, ticket 42"
        email,a@x.com,,
        email,nobody@x.com,,
        email,gone@x.com,,
        email,c@x.com,use_A,
        email,c@x.com,,
        user_id,d1,,
        email,d@x.com,,
        group_id,g1,,
        user_id,u1,,
        email,ceo@x.com,,

        """

    func plan(_ text: String = requests, rejects: String? = nil) throws -> RequestPlanResult {
        let path = try dir.write("requests.csv", text)
        let rules = try RulesLoader.parse("protected:\n  - {type: email, value: ceo@x.com}\n", file: "r.yaml")
        return try RequestPlanner.run(
            store: store,
            options: RequestPlanOptions(requestsPath: path, outDirectory: dir.file("out"), rules: rules, rejectsPath: rejects),
            now: now)
    }

    @Test func resolvesEachRequestAsSpecified() throws {
        let result = try plan()
        let lines = try dir.read("out/plan.csv").split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).prefix(7).joined(separator: ",")
        }
        #expect(lines == [
            "segment_id,type,value,reason,rank,lookup_user_id,remediable",
            "use_A,email,a@x.com,requested,1,u2,true",
            "use_A,email,b@x.com,requested,2,u2,true",
            "use_A,group_id,g1,requested,1,u2,false",
            "use_A,user_id,u1,requested,1,u2,true",
            "use_C,email,c@x.com,requested,1,,false",
            "use_D,email,d@x.com,requested,1,d1,true",
        ])
        #expect(try dir.read("out/unresolved.csv") == """
            line,type,value,segment_id,note,reason
            5,email,nobody@x.com,,,not_found
            6,email,gone@x.com,,,not_found
            7,email,c@x.com,use_A,,profile_mismatch
            9,user_id,d1,,,last_user_id
            13,email,ceo@x.com,,,protected

            """)
        #expect(result.requestLines == 12)
        #expect(result.duplicates == 1)
        #expect(result.planned == 6)
        #expect(result.remediable == 4)
        #expect(result.profiles == 3)
        #expect(result.unresolved == [.notFound: 2, .profileMismatch: 1, .lastUserID: 1, .protected: 1])
        let json = try JSONSerialization.jsonObject(with: Data(try dir.read("out/plan.json").utf8)) as? [String: Any]
        let groups = try #require(json?["groups"] as? [[String: Any]])
        let planLines = groups.flatMap { $0["lines"] as? [[String: Any]] ?? [] }
        #expect(planLines.count == 6)
        let b = try #require(planLines.first { $0["value"] as? String == "b@x.com" })
        #expect(b["note"] as? String == "imported by mistake, ticket 42")
        #expect(b["request_line"] as? Int == 3)
        let summary = try JSONSerialization.jsonObject(with: Data(try dir.read("out/summary.json").utf8)) as? [String: Any]
        #expect(summary?["estimate"] as? String == "4 deletions: about 1 s at the API's limit of 100 requests/s")
        #expect((summary?["unresolved"] as? [String: Int])?["last_user_id"] == 1)
    }

    @Test func aBadLineStopsBeforeAnythingIsPlannedUnlessRejected() throws {
        let bad = "type,value\nemail,a@x.com\nemail,\nuser_id,u1,extra\n"
        #expect {
            _ = try plan(bad)
        } throws: { "\($0)".hasSuffix("requests.csv:3: value is empty") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out/plan.csv")))
        let result = try plan(bad, rejects: dir.file("rejected.csv"))
        #expect(result.rejected == 2)
        #expect(result.planned == 1)
        #expect(try dir.read("rejected.csv").contains(",4,\"expected 2 fields, found 3\",\"user_id,u1,extra\""))
    }

    @Test func aHeaderWithoutValueIsNamed() throws {
        #expect {
            _ = try plan("type,val\nemail,a@x.com\n")
        } throws: { "\($0)".contains("requests.csv:1: missing required column value") }
    }

    @Test(arguments: [
        (1_240_000, "1,240,000 deletions: about 3 h 27 min at the API's limit of 100 requests/s"),
        (5_000, "5,000 deletions: about 50 s at the API's limit of 100 requests/s"),
        (12_000, "12,000 deletions: about 2 min 0 s at the API's limit of 100 requests/s"),
    ])
    func estimatesTheApplyAtTheAPILimit(deletions: Int, text: String) {
        #expect(RequestPlanner.costSummary(deletions: deletions) == text)
    }
}
