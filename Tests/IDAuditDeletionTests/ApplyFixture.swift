import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditRules
import IDAuditScan
import IDAuditStore
import IDAuditTestSupport

private typealias F = ExportFixture

/// A hand-made store, its scan plan, and an emulator serving it on 127.0.0.1.
///
/// Rules: user_id 1 ever, email 1 ever, `null` blocked. Profiles:
/// - use_A: user_id u1 (day 1), u2 (day 3); email a@x.com (day 1), b@x.com (day 2), c@x.com (day 4).
///   Excess: a@x.com, b@x.com (limit), u1 (limit); lookup u2.
/// - use_C: no user_id; email x1@x.com (day 1), x2@x.com (day 2). Excess: x1@x.com, not remediable.
/// - use_D: user_id d1 (day 1); email null (day 2). Excess: null (blocked); lookup d1.
///
/// The plan, in its order: use_A a@x.com, use_A b@x.com, use_A u1, use_C x1@x.com, use_D null.
final class ApplyFixture: Sendable {
    let dir: TemporaryDirectory
    let store: ProfileStore
    let rules: RuleSet
    let planPath: String
    static let token = "test-token"
    static let now = Instant(parsing: "2026-11-25 00:00:00")!

    init(_ name: String) throws {
        dir = try TemporaryDirectory(name)
        store = try ProfileStore(path: dir.file("idaudit.sqlite"))
        let export = try F.write(
            in: dir, "export", graph: [F.graph("use_A", "use_A", seq: 1)],
            mapping: [
                F.mapping("m01", "use_A", "user_id", "u1", day: 1, seq: 10),
                F.mapping("m02", "use_A", "user_id", "u2", day: 3, seq: 30),
                F.mapping("m03", "use_A", "email", "a@x.com", day: 1, seq: 11),
                F.mapping("m04", "use_A", "email", "b@x.com", day: 2, seq: 20),
                F.mapping("m05", "use_A", "email", "c@x.com", day: 4, seq: 40),
                F.mapping("m06", "use_C", "email", "x1@x.com", day: 1, seq: 12),
                F.mapping("m07", "use_C", "email", "x2@x.com", day: 2, seq: 21),
                F.mapping("m08", "use_D", "user_id", "d1", day: 1, seq: 13),
                F.mapping("m09", "use_D", "email", "null", day: 2, seq: 22),
            ])
        _ = try store.ingest(directory: export)
        rules = try RulesLoader.parse(Self.rulesText, file: "rules.yaml")
        _ = try Scanner.run(
            store: store, rules: rules, options: ScanOptions(outDirectory: dir.file("plan"), rulesPath: "rules.yaml"),
            now: Self.now)
        planPath = dir.file("plan/plan.csv")
    }

    static let rulesText = """
        identifiers:
          user_id: {limit: 1, frequency: ever}
          email: {limit: 1, frequency: ever}
        blocked:
          - value: "null"

        """

    func plan() throws -> PlanFile { try PlanFile.read(path: planPath) }

    /// The destination of `applySegment` with these arguments, as approvals name it.
    static func segmentDestination(endpoint: String, space: String = "spa_test") -> ApprovedDestination {
        SegmentTarget.destination(space: space, baseURL: endpoint)
    }

    /// Approves the plan for a destination, by "dana".
    @discardableResult
    func approve(for destination: ApprovedDestination, at time: Instant = ApplyFixture.now) throws -> Approval {
        try Approval.approve(plan: try plan(), for: destination, by: "dana", at: time)
    }

    func journal() throws -> Journal { try Journal(path: Journal.legacyPath(besideStore: store.path)) }

    /// Options for fast tests: a high budget, short backoffs.
    static func fastOptions() -> ApplyOptions {
        var options = ApplyOptions()
        options.requestsPerSecond = 1000
        options.backoffBaseSeconds = 0.01
        options.backoffCapSeconds = 0.05
        return options
    }

    static func emulatorOptions() -> EmulatorOptions {
        var options = EmulatorOptions(token: token)
        options.port = 0
        options.segmentPerSpace = 10_000
        options.segmentPerProfile = 10_000
        options.insiderIdentityPerMinute = 600_000
        options.insiderAttributePerMinute = 600_000
        options.flushMilliseconds = 50
        options.writeToStore = true  // each fixture's store is its own copy
        return options
    }

    /// Applies the plan to the emulator's Segment endpoint.
    func applySegment(
        endpoint: String, token: String = ApplyFixture.token, space: String = "spa_test",
        options: ApplyOptions = ApplyFixture.fastOptions(), timeoutSeconds: Double = 5
    ) async throws -> ApplyReport {
        let target = SegmentTarget(space: space, baseURL: endpoint, token: Secret(token))
        let plan = try plan()
        let journal = try journal()
        return try await HTTPTransport.with(connections: 16, timeoutSeconds: timeoutSeconds) { transport in
            try await ApplyEngine(plan: plan, target: target, transport: transport, journal: journal, options: options)
                .run()
        }
    }
}
