import Foundation
import IDAuditDeletion
import Testing

/// Segment's wire format and answers, line by line (seed 000, domain notes §2b).
struct SegmentTargetTests {
    let target = SegmentTarget(space: "spa_1", baseURL: "https://profiles.segment.com", token: Secret("tok"))

    func entry(_ type: String, _ value: String, lookup: String = "u+2/x", remediable: Bool = true) -> PlanEntry {
        PlanEntry(
            line: 1, segmentID: "use_A", type: type, value: value, reason: "limit", lookupUserID: lookup,
            remediable: remediable)
    }

    @Test func theRequestIsSegmentsDeleteCall() throws {
        guard case .send(let request) = target.prepare(entry("email", "a+b@x.com")) else {
            Issue.record("not sent")
            return
        }
        #expect(request.method == "POST")
        // The lookup is percent-encoded: + as %2B, / as %2F.
        #expect(
            request.url
                == "https://profiles.segment.com/v1/spaces/spa_1/collections/users/profiles/user_id:u%2B2%2Fx/external_ids/delete"
        )
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"delete_external_ids":[{"id":"a+b@x.com","type":"email"}]}"#)
        // Basic base64("tok:").
        #expect(request.headers.contains { $0.name == "Authorization" && $0.value == "Basic dG9rOg==" })
        #expect(!request.redactedDescription.contains("dG9rOg"))
    }

    @Test func linesSegmentCannotTakeAreSkippedWithAReason() {
        guard case .skip(let r1) = target.prepare(entry("email", "a@x.com", lookup: "", remediable: false)),
            case .skip(let r2) = target.prepare(entry("user_id", "u1", lookup: "u1")),
            case .skip(let r3) = target.prepare(entry("group_id", "g1"))
        else {
            Issue.record("expected skips")
            return
        }
        #expect(r1.hasPrefix("not remediable"))
        #expect(r2.contains("External id specification must differ from lookup id."))
        #expect(r3.hasPrefix("group_id"))
    }

    @Test(arguments: [
        (200, #"{"code":"success","message":"External identifier has been deleted."}"#, "done"),
        (200, #" { "message" : "External identifier has been deleted." , "code" : "success" } "#, "done"),
        (404, #"{"error":{"code":"eid_not_found","message":"External identifier not found."}}"#, "notFound"),
        (404, #"{"error":{"code":"not_found","message":"The resource was not found."}}"#, "failed"),
        (400, #"{"error":{"code":"bad_request","message":"Profiles must have at least one user_id."}}"#, "failed"),
        (401, #"{"error":{"code":"unauthorized","message":"The specified token is invalid."}}"#, "stop"),
        (403, #"{"error":{"code":"forbidden","message":"Deleted identifier not activated for space_id `s`."}}"#, "stop"),
        (429, #"{"error":{"code":"rate_limit_error","message":"..."}}"#, "retry"),
        (503, "upstream down", "retry"),
        // Issue 19: a 2xx is done only when it is exactly the success Segment documents; any other is unconfirmed.
        (200, #"{"code":"success"}"#, "unconfirmed"),
        (200, #"{"message":"External identifier has been deleted."}"#, "unconfirmed"),
        (202, #"{"code":"success","message":"External identifier has been deleted."}"#, "unconfirmed"),
        (200, #"{"code":"success","message":"External identifier has been deleted.","errors":[]}"#, "unconfirmed"),
        (200, #"{"code":"error","code":"success","message":"External identifier has been deleted."}"#, "unconfirmed"),
        // Eighth review: the same key twice, once spelled with an escape.
        (200, #"{"\u0063ode":"error","code":"success","message":"External identifier has been deleted."}"#, "unconfirmed"),
        (200, #"{"code":"success","error":{"code":"eid_not_found"},"message":"External identifier has been deleted."}"#,
         "unconfirmed"),
        (200, #"{"errors":[{"message":"not deleted"}]}"#, "unconfirmed"),
        (200, "", "unconfirmed"),
        (204, "", "unconfirmed"),
        (200, "<html><body>OK</body></html>", "unconfirmed"),
        (200, #"{"data":{}}"#, "unconfirmed"),
        (200, #"{"code":"succeeded"}"#, "unconfirmed"),
        (200, #"{"error":{"code":"bad_request","message":"no"}}"#, "unconfirmed"),
    ])
    func answersMapToOutcomes(_ status: Int, _ body: String, _ expected: String) {
        let result = target.classify(
            WireResponse(status: status, headers: [("Request-Id", "r-9")], body: Array(body.utf8)))
        switch result {
        case .done(let absent): #expect(expected == (absent ? "absent" : "done"))
        case .failed(let failure):
            #expect(expected == "failed")
            #expect(failure.requestID == "r-9")
            #expect(failure.status == status)
        case .unconfirmed(let failure):
            #expect(expected == "unconfirmed")
            #expect(failure.code == "unconfirmed_2xx" && failure.requestID == "r-9" && failure.status == status)
            #expect(failure.message.hasSuffix(": " + String(body.prefix(200))))
        case .stop: #expect(expected == "stop")
        case .retry: #expect(expected == "retry")
        case .notFound(let failure):
            #expect(expected == "notFound")
            #expect(failure.code == "eid_not_found")
        case .absentBeforeApply: Issue.record("only the engine decides absent_before_apply")
        case .skipped: Issue.record("Segment never skips on an answer")
        }
    }

    @Test func retryAfterIsRead() {
        let response = WireResponse(status: 429, headers: [("retry-after", "3")], body: [])
        #expect(target.classify(response) == .retry(AttemptFailure(status: 429, code: "", message: "", requestID: ""), after: 3))
        // The HTTP-date form: 45 s after "now".
        let dated = WireResponse(status: 503, headers: [("Retry-After", "Wed, 25 Nov 2026 10:00:45 GMT")], body: [])
        let now = Date(timeIntervalSince1970: 1_795_600_800)  // 2026-11-25 10:00:00 UTC
        #expect(dated.retryAfterSeconds(now: now) == 45)
        #expect(WireResponse(status: 429, headers: [("Retry-After", "soon")], body: []).retryAfterSeconds == nil)
    }
}
