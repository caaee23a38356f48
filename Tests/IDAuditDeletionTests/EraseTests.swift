import Foundation
import IDAuditCore
import IDAuditDeletion
import IDAuditEmulator
import IDAuditStore
import IDAuditTestSupport
import Testing

/// Issue 4: `erase`, Insider One's attribute deletion: validation, batching, and its effect at the emulator.
struct EraseTests {
    @Test(arguments: [
        (#"{"identifiers":{"email":"a@x.com"},"whole":["email"]}"#, "whole names \"email\", an identifier attribute"),
        (
            #"{"identifiers":{"custom":{"loyalty_id":"L1"}},"custom":{"whole":["loyalty_id"]}}"#,
            "custom.whole names \"loyalty_id\", an identifier attribute"
        ),
        (#"{"identifiers":{"email":"a@x.com"},"partial":{"phone_number":["+1"]}}"#, "partial names \"phone_number\""),
        (#"{"identifiers":{"email":"a@x.com"},"insider_id":"i1","whole":["name"]}"#, "both identifiers and insider_id"),
        (#"{"whole":["name"]}"#, "no identifiers and no insider_id"),
        (#"{"identifiers":{"phone_number":"98765432"},"whole":["name"]}"#, "E.164"),
        (#"{"identifiers":{"email":"a@x.com"}}"#, "nothing to delete"),
        (#"{"identifiers":{"email":"a@x.com"},"wholes":["name"]}"#, "unknown field \"wholes\""),
        (#"{"identifiers":{"email":"a@x.com"},"whole":"name"}"#, "whole must be an array"),
        ("not json", "not a JSON object"),
    ])
    func badLinesAreRefusedWithFileAndLine(_ line: String, _ message: String) throws {
        let dir = try TemporaryDirectory("erase-bad")
        let path = try dir.write(
            "users.jsonl", #"{"identifiers":{"email":"ok@x.com"},"whole":["name"]}"# + "\n\n" + line + "\n")
        #expect {
            try EraseFile.read(path: path)
        } throws: { error in
            "\(error)".hasPrefix("\(path):3: ") && "\(error)".contains(message)
        }
    }

    @Test func batchesSplitAt1000UsersAnd5MB() {
        let small = (1...2500).map { EraseUser(line: $0, json: #"{"insider_id":"u\#($0)","whole":["name"]}"#) }
        #expect(EraseFile.batches(small).map(\.count) == [1000, 1000, 500])
        // 1.2 MB users: four fit in 5 MB (4.8 MB + separators + envelope), the fifth starts a new request.
        let padding = String(repeating: "a", count: 1_200_000)
        let big = (1...5).map { EraseUser(line: $0, json: #"{"insider_id":"u\#($0)","whole":["\#(padding)"]}"#) }
        let batches = EraseFile.batches(big)
        #expect(batches.map(\.count) == [4, 1])
        #expect(batches.allSatisfy { EraseFile.body($0).utf8.count <= EraseFile.maxRequestBytes })
        #expect(EraseFile.body(Array(big.prefix(5))).utf8.count > EraseFile.maxRequestBytes)
    }

    @Test func erasesAttributesAtTheEmulatorInBatches() async throws {
        let f = try ApplyFixture("erase")
        var options = ApplyFixture.emulatorOptions()
        options.insiderUsers = [
            #"{"identifiers":{"email":"c@x.com"},"attributes":{"name":"Ann","surname":"Lee","static_segment_id":[1,2,3],"custom":{"tier":"gold","tags":["a","b"]}}}"#
        ]
        let emulator = try await RunningEmulator.start(store: f.store, options: options)
        var lines = [
            #"{"identifiers":{"email":"c@x.com"},"whole":["name"],"partial":{"static_segment_id":[1,2]},"custom":{"whole":["tier"],"partial":{"tags":["a"]}}}"#
        ]
        lines += (1...1500).map { #"{"insider_id":"nobody-\#($0)","whole":["name"]}"# }
        let path = try f.dir.write("users.jsonl", lines.joined(separator: "\n") + "\n")
        let (sha, users) = try EraseFile.read(path: path)
        let batches = EraseFile.batches(users)
        #expect(batches.map(\.count) == [1000, 501])
        let target = try InsiderAttributeTarget(
            partner: "mybrand", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        let report = try await HTTPTransport.with(connections: 4, timeoutSeconds: 10) { transport in
            try await ApplyEngine(
                plan: EraseFile.plan(path: path, sha256: sha, batches: batches), target: target, transport: transport,
                journal: try f.journal(), options: ApplyFixture.fastOptions()
            ).run()
        }
        let after = await emulator.emulator.insiderAttributes(type: "email", value: "c@x.com")
        let statistics = await emulator.emulator.statistics()
        try await emulator.stop()
        #expect(report.done == 2)
        #expect(report.requests == 2)
        #expect(statistics.attributeUsers == 1501)
        #expect(after == #"{"custom":{"tags":["b"]},"static_segment_id":[3],"surname":"Lee"}"#)
    }

    /// Third review: a file with CRLF line ends was refused as one line ("not a JSON object on one line"): a CRLF is
    /// one Character in Swift.
    @Test func crlfLineEndsAreRead() throws {
        let text = #"{"insider_id":"a","whole":["name"]}"# + "\r\n" + #"{"insider_id":"b","whole":["name"]}"# + "\r\n"
        let (_, users) = try EraseFile.parse(bytes: Array(text.utf8), path: "crlf.jsonl")
        #expect(users.map(\.line) == [1, 2])
    }

    /// Third review: `--journal` at another SQLite database (a store) migrated nothing, was remembered, and broke
    /// the destination for good; it is now refused before anything in it changes.
    @Test func aStoreIsNotTakenForAJournal() throws {
        let f = try ApplyFixture("journal-is-a-store")
        let before = try Data(contentsOf: URL(fileURLWithPath: f.store.path))
        #expect {
            try Journal(path: f.store.path)
        } throws: { "\($0)".contains("is not an idaudit journal") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: f.store.path)) == before)
        _ = try Journal(path: f.dir.file("fresh.sqlite"))
        _ = try Journal(path: f.dir.file("fresh.sqlite"))  // a journal opens again
    }

    /// Review of 2026-12-03, latent with `--users-per-request`: a request is sorted by its first user's state, so a
    /// resumed run that put a failed user first in a request with users never sent left them unsent, and one that put
    /// a failed user behind a pending one sent it again without --retry-failed. Users now share a request only when
    /// they share its fate.
    @Test func aResumedBatchHoldsOnlyUsersOfOneFate() throws {
        let lines = (1...6).map { #"{"insider_id":"u\#($0)","whole":["name"]}"# }
        let dir = try TemporaryDirectory("erase-fates")
        let (_, users) = try EraseFile.read(path: try dir.write("users.jsonl", lines.joined(separator: "\n") + "\n"))
        func state(_ s: LineState.State) -> LineState {
            LineState(
                state: s, alreadyAbsent: false, attempts: 1, status: nil, code: nil, message: nil, requestID: nil,
                updatedAt: Instant(microseconds: 0))
        }
        let lineOf = users.map(\.line)
        let states: [Int: LineState] = [
            lineOf[0]: state(.failed), lineOf[2]: state(.done), lineOf[3]: state(.unconfirmed), lineOf[4]: state(.sending),
        ]
        let kept = EraseFile.resumedBatches(users, states: states, maxUsers: 4, retryFailed: false, retryUnconfirmed: false)
        #expect(
            kept.map { $0.map(\.line) } == [[lineOf[0]], [lineOf[1], lineOf[4], lineOf[5]], [lineOf[2]], [lineOf[3]]])
        let retried = EraseFile.resumedBatches(users, states: states, maxUsers: 4, retryFailed: true, retryUnconfirmed: true)
        #expect(
            retried.map { $0.map(\.line) } == [[lineOf[0], lineOf[1], lineOf[3], lineOf[4]], [lineOf[2]], [lineOf[5]]])
    }

    /// Issue 19 item 9: the journal is keyed by user, not batch index: a run resumed with another batching (another
    /// version, another limit) never sends a done user again.
    @Test func aResumedEraseIsKeyedByUserWhateverTheBatching() async throws {
        let f = try ApplyFixture("erase-by-user")
        let emulator = try await RunningEmulator.start(store: f.store, options: ApplyFixture.emulatorOptions())
        let lines = (1...2500).map { #"{"insider_id":"nobody-\#($0)","whole":["name"]}"# }
        let path = try f.dir.write("users.jsonl", lines.joined(separator: "\n") + "\n")
        let (sha, users) = try EraseFile.read(path: path)
        let target = try InsiderAttributeTarget(
            partner: "mybrand", baseURL: emulator.endpoint, token: Secret(ApplyFixture.token))
        func run(maxUsers: Int, maxDeletes: Int?) async throws -> ApplyReport {
            var options = ApplyFixture.fastOptions()
            options.maxDeletes = maxDeletes
            let run = DeletionRun(
                plan: EraseFile.plan(path: path, sha256: sha, batches: EraseFile.batches(users)), target: target,
                home: JournalHome(folder: f.dir.file("state")), journal: nil, legacyJournal: nil,
                reportPath: path + ".erase-report.json", command: "erase", warn: { _ in },
                refine: { states in
                    EraseFile.plan(
                        path: path, sha256: sha,
                        batches: EraseFile.resumedBatches(
                            users, states: states, maxUsers: maxUsers, retryFailed: false, retryUnconfirmed: false))
                })
            let (report, _, locks) = try await run.run(options: options)
            for lock in locks { lock.release() }
            return report
        }
        // 1,000 users per request; stopped after the first.
        let first = try await run(maxUsers: 1000, maxDeletes: 1)
        #expect(first.done == 1)
        // Resumed with 700 per request: the 1,500 users left, in 3 requests; none of the first 1,000 again.
        let second = try await run(maxUsers: 700, maxDeletes: nil)
        let statistics = await emulator.emulator.statistics()
        try await emulator.stop()
        #expect(second.done == 3)
        #expect(statistics.attributeUsers == 2500)
        #expect(statistics.requests == 4)
    }
}
