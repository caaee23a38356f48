import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Issue 4: the same plan applied to Insider One's Delete Identifiers API, through the emulator.
struct InsiderApplyTests {
    func apply(
        _ f: ApplyFixture, endpoint: String, counts: Bool = true, typeMap: InsiderTypeMap = InsiderTypeMap(),
        knownCounts: [String: [String: Int]]? = nil, options: ApplyOptions = ApplyFixture.fastOptions(),
        partner: String = "mybrand", journal: Journal? = nil
    ) async throws -> ApplyReport {
        let plan = try f.plan()
        let target = try InsiderTarget(
            partner: partner, baseURL: endpoint, token: Secret(ApplyFixture.token), typeMap: typeMap,
            identifierCounts: counts
                ? try knownCounts ?? f.store.activeTypeCounts(onProfiles: Set(plan.entries.map(\.segmentID))) : nil)
        let report = try await HTTPTransport.with(connections: 8, timeoutSeconds: 5) { transport in
            try await ApplyEngine(
                plan: plan, target: target, transport: transport, journal: try journal ?? f.journal(), options: options
            ).run()
        }
        return report
    }

    @Test func everyExcessLineIsSentEvenWithoutALookup() async throws {
        let f = try ApplyFixture("insider-happy")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let report = try await apply(f, endpoint: emulator.endpoint)
        try await emulator.stop()
        // All 5 lines go: use_C's x1@x.com too (Insider addresses the user by the identifier itself).
        #expect(report.done == 5)
        #expect(report.skipped == 0)
        #expect(report.exitCode == 0)
        #expect(report.destination.hasPrefix("insider/"))
        #expect(!report.destination.contains("mybrand"))  // the partner name stays out of the journal
        #expect(await emulator.emulator.statistics().insiderDeletions == 5)
        // Insider's deletions do not touch the Segment store.
        #expect(try f.store.identifier(type: "email", value: "a@x.com")?.active == true)
    }

    /// Issue 19 item 7: Insider One's budgets are per endpoint; identity delete gets 1,000/min per key (not the
    /// 25,000/min pool of upsert and attribute delete).
    @Test func eachInsiderEndpointHasItsOwnDocumentedBudget() throws {
        let identity = try InsiderTarget(partner: "mybrand", token: Secret(ApplyFixture.token))
        #expect(identity.defaultRequestsPerSecond == 1_000.0 / 60)
        let attributes = try InsiderAttributeTarget(partner: "mybrand", token: Secret(ApplyFixture.token))
        #expect(attributes.defaultRequestsPerSecond == 25_000.0 / 60)
    }

    /// Throttling can come as 403 "Request Limit Exceeded": backed off and retried like a 429, never a stop; any
    /// other 403 still stops the run.
    @Test func a403RequestLimitExceededIsAThrottleNotAStop() throws {
        let target = try InsiderTarget(partner: "mybrand", token: Secret(ApplyFixture.token))
        let throttle = WireResponse(
            status: 403, headers: [], body: Array(#"{"success":false,"message":"Request Limit Exceeded"}"#.utf8))
        guard case .retry(let failure, _) = target.classify(throttle) else {
            Issue.record("a 403 Request Limit Exceeded was not retried")
            return
        }
        #expect(failure.isThrottle)
        let denied = WireResponse(
            status: 403, headers: [],
            body: Array(#"{"success":false,"message":"Access Denied. You do not have sufficient access."}"#.utf8))
        guard case .stop = target.classify(denied) else {
            Issue.record("another 403 did not stop the run")
            return
        }
        // A refusal that merely mentions the phrase is a refusal.
        let mention = WireResponse(
            status: 403, headers: [],
            body: Array(#"{"message":"Forbidden: token revoked. Request Limit Exceeded is not the reason"}"#.utf8))
        guard case .stop = target.classify(mention) else {
            Issue.record("a 403 mentioning the phrase was retried")
            return
        }
    }

    /// The emulator enforces the identity endpoint's budget apart from the attribute endpoint's, and throttles as a
    /// 403: a client sending far above it is slowed, retries, and deletes every line; nothing stops.
    @Test func theEmulatorsPerEndpointBudgetThrottlesWith403sAndTheRunRidesItOut() async throws {
        let f = try ApplyFixture("insider-403-throttle")
        var emulatorOptions = ApplyFixture.emulatorOptions()
        emulatorOptions.insiderIdentityPerMinute = 120  // 2/s, a burst of 2
        emulatorOptions.insiderThrottleAs403 = true
        let emulator = try await RunningEmulator.start(store: f.store, options: emulatorOptions)
        var options = ApplyFixture.fastOptions()
        options.maxAttempts = 200
        let report = try await apply(f, endpoint: emulator.endpoint, options: options)
        try await emulator.stop()
        #expect(report.stopped == nil)
        #expect(report.done == 5)
        #expect(report.throttled > 0)
        #expect(report.failed == 0)
        #expect(report.rateDecreases > 0)
        #expect(await emulator.emulator.statistics().byStatus[403, default: 0] == report.throttled)
    }

    @Test func insidersCopyStillHoldsWhatSegmentDeleted() async throws {
        // The documented order: Segment first, then the downstream copy. Insider One still holds the identifiers.
        // The local store knows the profiles as the last export had them (the emulator writes Segment's REMOVED rows
        // into it, which a real Segment would not do until the next export is ingested).
        let f = try ApplyFixture("insider-after-segment")
        let known = try f.store.activeTypeCounts(onProfiles: ["use_A", "use_C", "use_D"])
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let segment = try await f.applySegment(endpoint: emulator.endpoint)
        try await emulator.emulator.flush()
        let insider = try await apply(f, endpoint: emulator.endpoint, knownCounts: known)
        try await emulator.stop()
        #expect(segment.done == 4)
        #expect(insider.done == 5)
        #expect(insider.alreadyAbsent == 0)
        #expect(await emulator.emulator.statistics().insiderDeletions == 5)
    }

    @Test func a404OtherThanNoSuchUserIsAFailure() throws {
        let target = try InsiderTarget(partner: "mybrand", token: Secret("t"))
        let gone = WireResponse(
            status: 404, headers: [], body: Array(#"{"error":"no such user for these identifiers: no data"}"#.utf8))
        guard case .notFound = target.classify(gone) else {
            Issue.record("Insider One's no such user is a not-found answer")
            return
        }
        let wrongPath = WireResponse(status: 404, headers: [], body: Array("404 page not found".utf8))
        guard case .failed = target.classify(wrongPath) else {
            Issue.record("a 404 from a wrong URL must not count as done")
            return
        }
    }

    /// Third review: answers were read after the run's secrets were masked in them, so a partner named `user`
    /// turned "no such user" into "no such <redacted>": a failure, not "not there". The meaning is read from the
    /// answer as it came; only what is kept of it is masked.
    @Test func aSecretInTheAnswerChangesWhatItSaysNotWhatItMeans() async throws {
        let f = try ApplyFixture("insider-partner-user")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let first = try await apply(f, endpoint: emulator.endpoint, partner: "user")
        #expect(first.done > 0)
        // The same lines again with a journal that knows nothing of them: each is "not there", not failed.
        let again = try await apply(
            f, endpoint: emulator.endpoint, partner: "user", journal: try Journal(path: f.dir.file("other.sqlite")))
        try await emulator.stop()
        #expect(again.failed == 0)
        #expect(again.absentBeforeApply == first.done)
        #expect(again.absentLines.allSatisfy { !$0.failure.message.contains("user") })
    }

    /// Review M5: two Segment types the type map sends to one Insider One key name one identifier; the second line
    /// was sent, found nothing and counted against the plan as "not there".
    @Test func twoTypesMappedToOneKeyWithOneValueAreSentOnce() throws {
        let target = try InsiderTarget(
            partner: "mybrand", baseURL: "http://127.0.0.1:1", token: Secret(ApplyFixture.token),
            typeMap: InsiderTypeMap(overrides: ["email_address": .email]),
            identifierCounts: ["use_S": ["email": 1], "use_T": ["email": 3]])
        let check = target.makePreflight()
        func entry(_ line: Int, _ type: String, _ value: String, _ profile: String = "use_A") -> PlanEntry {
            PlanEntry(
                line: line, segmentID: profile, type: type, value: value, reason: "limit", lookupUserID: "",
                remediable: true)
        }
        #expect(check(entry(1, "email", "a@x.com")) == nil)
        #expect(
            check(entry(2, "email_address", "a@x.com"))
                == "the same Insider One identifier (email) as line 1, through the type map: sent once")
        #expect(check(entry(3, "email_address", "b@x.com")) == nil)
        #expect(check(entry(4, "email", "A@x.com")) == nil)  // Insider One documents no case folding
        // Second review: a line skipped as a profile's sole identifier sends nothing, so it names nothing.
        #expect(check(entry(5, "email", "s@x.com", "use_S"))?.hasPrefix("sole identifier") == true)
        #expect(check(entry(6, "email_address", "s@x.com", "use_T")) == nil)
    }

    @Test func aLineThatWouldLeaveNoIdentifierIsSkippedBeforeSending() async throws {
        // use_D holds user_id d1 and email null; with user_id mapped to `skip`, null is its only Insider identifier.
        let f = try ApplyFixture("insider-sole")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let map = InsiderTypeMap(overrides: ["user_id": .skip])
        let report = try await apply(f, endpoint: emulator.endpoint, typeMap: map)
        try await emulator.stop()
        // Skipped: u1 (user_id: skip) and null (sole identifier). Sent: a, b, x1.
        #expect(report.done == 3)
        #expect(report.skipped == 2)
        #expect(report.skipReasons.keys.contains { $0.hasPrefix("sole identifier: deleting it would leave") })
        #expect(await emulator.emulator.statistics().requests == 3)
    }

    @Test func theServersSoleIdentifierAnswerCountsAsSkipped() async throws {
        // Without the store's counts idaudit sends null; the emulator answers Insider One's 400.
        let f = try ApplyFixture("insider-sole-400")
        var options = ApplyFixture.emulatorOptions()
        options.typeMap = InsiderTypeMap(overrides: ["user_id": .skip])
        let emulator = try await RunningEmulator.start(store: f.store, options: options)
        let map = InsiderTypeMap(overrides: ["user_id": .skip])
        let report = try await apply(f, endpoint: emulator.endpoint, counts: false, typeMap: map)
        try await emulator.stop()
        #expect(report.done == 3)
        #expect(report.skipped == 2)
        #expect(
            report.skipReasons.keys.contains {
                $0.contains("you cannot delete the sole identifier specified for a user: bad request")
            })
        #expect(await emulator.emulator.statistics().byStatus[400] == 1)
    }

    @Test func aWrongTokenStopsTheRun() async throws {
        let f = try ApplyFixture("insider-403")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let plan = try f.plan()
        let target = try InsiderTarget(partner: "mybrand", baseURL: emulator.endpoint, token: Secret("nope"))
        var options = ApplyFixture.fastOptions()
        options.concurrency = 1
        let report = try await HTTPTransport.with(connections: 1, timeoutSeconds: 5) { transport in
            try await ApplyEngine(
                plan: plan, target: target, transport: transport, journal: try f.journal(), options: options
            ).run()
        }
        try await emulator.stop()
        #expect(report.exitCode == 2)
        #expect(report.stopped?.contains("Access Denied.") == true)
        #expect(report.requests == 1)
    }

    @Test(arguments: ["MyBrand", "my brand", ""])
    func aPartnerNameInsiderWouldRefuseIsRefusedBeforeSending(_ partner: String) {
        #expect(throws: InsiderPartnerError.self) {
            _ = try InsiderTarget(partner: partner, token: Secret("t"))
        }
    }

    @Test func requestsHaveInsidersWireShape() throws {
        let target = try InsiderTarget(
            partner: "mybrand", baseURL: "https://unification.useinsider.com", token: Secret("tok"),
            typeMap: InsiderTypeMap(overrides: ["ga_id": .custom("google_id")]))
        func body(_ type: String, _ value: String) -> String? {
            let entry = PlanEntry(
                line: 1, segmentID: "use_A", type: type, value: value, reason: "limit", lookupUserID: "",
                remediable: false)
            guard case .send(let request) = target.prepare(entry) else { return nil }
            #expect(request.method == "DELETE")
            #expect(request.url == "https://unification.useinsider.com/api/user/v1/identity")
            #expect(request.headers.contains { $0.name == "X-PARTNER-NAME" && $0.value == "mybrand" })
            #expect(request.headers.contains { $0.name == "X-REQUEST-TOKEN" && $0.value == "tok" })
            return String(decoding: request.body, as: UTF8.self)
        }
        #expect(body("email", "a@x.com") == #"{"identifiers":{"email":"a@x.com"}}"#)
        #expect(body("phone", "+6598765432") == #"{"identifiers":{"phone_number":"+6598765432"}}"#)
        #expect(body("user_id", "u1") == #"{"identifiers":{"uuid":"u1"}}"#)
        #expect(body("anonymous_id", "a-1") == #"{"identifiers":{"custom":{"anonymous_id":"a-1"}}}"#)
        #expect(body("ga_id", "g\"1") == #"{"identifiers":{"custom":{"google_id":"g\"1"}}}"#)
        #expect(body("phone", "98765432") == nil)  // not E.164: skipped
    }
}
