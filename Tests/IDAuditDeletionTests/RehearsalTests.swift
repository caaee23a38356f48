import Foundation
import IDAuditTestSupport
import Testing

/// Issue 19 item 8: the README's rehearsal is one block that works when pasted: this runs its exact lines (the port
/// aside) with the idaudit binary this build made.
struct RehearsalTests {
    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The `idaudit` executable beside the test bundle (`swift build --build-tests`, which `swift test` runs, builds
    /// it).
    static func binary() throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let path = dir.appendingPathComponent("idaudit").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let fallback = root + "/.build/debug/idaudit"
        guard FileManager.default.isExecutableFile(atPath: fallback) else {
            throw RehearsalError(message: "no idaudit binary beside \(bundle.path) or at \(fallback)")
        }
        return fallback
    }

    /// The lines between `<!-- rehearsal -->` and `<!-- /rehearsal -->`, without the code fence.
    static func readmeBlock() throws -> String {
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "<!-- rehearsal -->\n"), let end = readme.range(of: "<!-- /rehearsal -->")
        else { throw RehearsalError(message: "README.md has no rehearsal block") }
        return readme[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("```") }.joined(separator: "\n")
    }

    @Test func theReadmesRehearsalWorksWhenPasted() async throws {
        let dir = try TemporaryDirectory("readme-rehearsal")
        let idaudit = try Self.binary()
        let block = try Self.readmeBlock()
        #expect(block.contains("--endpoint http://127.0.0.1:8080"))
        #expect(!block.contains("IDAUDIT_SEGMENT_TOKEN=..."))  // every secret set, every line pointed at the emulator
        let port = 20_000 + Int(getpid() % 20_000)
        // What the README's earlier lines made: a store and a plan in reports/2026-11-23/.
        let setup = """
            set -e
            idaudit sample --profiles 1500 --seed 7 --out export/ >/dev/null
            idaudit ingest export/ --store idaudit.sqlite >/dev/null
            idaudit scan --store idaudit.sqlite --rules '\(Self.root)/rules/segment-recommended.yaml' \
                --out reports/2026-11-23/ >/dev/null || test -s reports/2026-11-23/plan.csv
            """
        // Each line of the block must succeed; the emulator is stopped whatever happens.
        let script =
            setup + "\ntrap 'kill $EMULATOR 2>/dev/null || true' EXIT\n"
            + block.replacingOccurrences(of: "8080", with: String(port)) + "\n"
        let (status, text) = try await Self.run(
            "/bin/bash", ["-c", script], state: dir.file("state"),
            environment: [
                "PATH": URL(fileURLWithPath: idaudit).deletingLastPathComponent().path + ":"
                    + (ProcessInfo.processInfo.environment["PATH"] ?? "")
            ], directory: dir.path)
        #expect(status == 0, "\(text)")
        #expect(text.contains("canary: the 20 lines it sent"))
        #expect(text.contains("0 failed"))
        #expect(text.contains("verified rehearsal/plan.csv"))
        #expect(FileManager.default.fileExists(atPath: dir.file("rehearsal/canary.csv")))
        // The store it was copied from is untouched: the rehearsal wrote its deletions into its own copy.
        #expect(!text.contains("came back: "))
    }
}

extension RehearsalTests {
    /// Review of 2026-12-03: the dry run listed every line to send whatever --max-deletes or --canary said.
    @Test func aDryRunStopsWhereTheRealRunWould() async throws {
        let f = try ApplyFixture("dry-run-cap")
        let common = [
            "apply", f.planPath, "--target", "segment", "--space", "spa_test", "--endpoint", "http://127.0.0.1:9",
            "--dry-run",
        ]
        let capped = try await Self.run(try Self.binary(), common + ["--max-deletes", "2"], state: f.dir.file("state"))
        #expect(capped.status == 0, "\(capped.text)")
        #expect(capped.text.split(separator: "\n").filter { $0.hasPrefix("line ") }.count == 2)
        #expect(capped.text.contains("dry run: 2 requests would be sent to segment/"))
        #expect(capped.text.contains("(of 4 lines to send: --max-deletes)"))
        let canary = try await Self.run(try Self.binary(), common + ["--canary", "1"], state: f.dir.file("state"))
        #expect(canary.text.contains("dry run: 1 requests would be sent to segment/"))
        #expect(canary.text.contains("(of 4 lines to send: --canary, then a review)"))
        let all = try await Self.run(try Self.binary(), common + ["--canary", "1", "--yes"], state: f.dir.file("state"))
        #expect(all.text.contains("dry run: 4 requests would be sent to segment/"))
    }

    /// Second review: `erase --dry-run` listed the whole file's batches whatever the journal, --max-deletes or
    /// --canary said.
    @Test func anEraseDryRunStopsWhereTheRealRunWould() async throws {
        let dir = try TemporaryDirectory("erase-dry-run")
        let users = try dir.write(
            "users.jsonl", (1...5).map { #"{"insider_id":"u\#($0)","whole":["name"]}"# }.joined(separator: "\n") + "\n")
        let common = [
            "erase", users, "--target", "insider", "--endpoint", "http://127.0.0.1:9", "--dry-run",
            "--users-per-request", "2",
        ]
        let partner = ["IDAUDIT_INSIDER_PARTNER": "mybrand"]
        let capped = try await Self.run(
            try Self.binary(), common + ["--max-deletes", "1"], state: dir.file("state"), environment: partner)
        #expect(capped.status == 0, "\(capped.text)")
        #expect(capped.text.contains("request 1: lines 1-2, 2 users"))
        #expect(!capped.text.contains("request 2:"))
        #expect(capped.text.contains("dry run: 1 requests would be sent (of 3: --max-deletes); nothing was sent"))
        #expect(capped.text.contains("no journal for this destination yet"))
        let all = try await Self.run(try Self.binary(), common, state: dir.file("state"), environment: partner)
        #expect(all.text.contains("request 3: lines 5-5, 1 users"))
    }

    /// Review of 2026-12-03 (eighth): a refused `--endpoint` exited 1, the code for "some lines failed"; it is a bad
    /// option (64), for approve and apply alike, and no approval is written.
    @Test func aRefusedEndpointIsABadOption() async throws {
        let dir = try TemporaryDirectory("refused-endpoint")
        let idaudit = try Self.binary()
        let plan = try dir.write("plan.csv", "segment_id,type,value\n")
        for command in ["approve", "apply"] {
            for endpoint in ["http://example.com", "http://127.0.0.1:9/staging//", "http://127.0.0.1:9/x?y"] {
                let (status, text) = try await Self.run(
                    idaudit, [command, plan, "--target", "segment", "--space", "spa_1", "--endpoint", endpoint],
                    state: dir.file("state"), environment: ["IDAUDIT_SEGMENT_TOKEN": "tok_1234567890"])
                #expect(status == 64, "\(command) \(endpoint): \(status) \(text)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: plan + ".approval.json"))
    }

    /// Issue 22: every `--help` reads at 80 columns: no line laid out by hand (a table, a list, an example; they start
    /// with a space) is longer than 80 characters, so none wraps mid-command; an example continued on the next line
    /// ends in one backslash, as a shell reads it.
    @Test func everyHelpReadsAt80Columns() async throws {
        let dir = try TemporaryDirectory("help-80")
        let idaudit = try Self.binary()
        let commands = [
            "demo", "sample", "ingest", "scan", "explain", "history", "request-plan", "whatif", "sql", "approve",
            "apply", "verify", "erase", "emulate",
        ]
        for command in commands {
            let (status, text) = try await Self.run(
                idaudit, [command, "--help"], state: dir.file("state"), environment: ["COLUMNS": "300"])
            #expect(status == 0, "\(command)")
            let discussion = text.components(separatedBy: "\nUSAGE:").first ?? text
            for line in discussion.split(separator: "\n") where line.hasPrefix(" ") {
                #expect(line.count <= 80, "\(command): \(line.count) characters: \(line)")
                #expect(!line.hasSuffix("\\\\"), "\(command): a doubled backslash: \(line)")
            }
        }
    }

    /// Issue 22: `--version` names the release, the commit the binary was built from (stamped by the VersionStamp
    /// plugin; "unknown" outside a git checkout, "+changes" when tracked files were edited) and SQLite's version.
    @Test func versionNamesTheReleaseTheCommitAndSQLite() async throws {
        let dir = try TemporaryDirectory("version")
        let (status, text) = try await Self.run(try Self.binary(), ["--version"], state: dir.file("state"))
        #expect(status == 0)
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let shape = #/^idaudit [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}(\+changes)?|unknown), SQLite 3\.[0-9.]+\)$/#
        #expect(line.wholeMatch(of: shape) != nil, "\(line)")
    }

    /// Issue 22: with stderr piped (CI, cron, a log), a long step still says how it goes: a line every few seconds
    /// (here every 20 ms) with the time spent, the rate where the step counts and the ETA where it knows its share;
    /// no terminal control characters.
    @Test func progressIsPrintedWhenPiped() async throws {
        let dir = try TemporaryDirectory("progress-piped")
        let idaudit = try Self.binary()
        let fast = ["IDAUDIT_PROGRESS_SECONDS": "0.02"]
        let (sampled, sampleText) = try await Self.run(
            idaudit, ["sample", "--profiles", "20000", "--out", dir.file("export") + "/"], state: dir.file("state"),
            environment: fast)
        #expect(sampled == 0)
        let generating = sampleText.split(separator: "\n").filter { $0.hasPrefix("idaudit: [") }
        #expect(generating.contains { $0.contains("generating: ") && $0.contains(", ETA ") }, "\(sampleText)")
        let (ingested, ingestText) = try await Self.run(
            idaudit, ["ingest", dir.file("export"), "--store", dir.file("s.sqlite")], state: dir.file("state"),
            environment: fast)
        #expect(ingested == 0)
        #expect(ingestText.split(separator: "\n").contains { $0.hasPrefix("idaudit: [") && $0.contains(" rows") && $0.contains("/s") },
            "\(ingestText)")
        #expect(!(sampleText + ingestText).contains("\u{1B}"))
    }

    /// Runs `binary` with `arguments` in `directory` (default: the current one), the state folder `state` and
    /// `extra` over the environment; its exit status and everything it printed. Read on a thread of its own: a test
    /// blocking one of the concurrency pool's two threads for seconds stalls every other test's HTTP exchanges.
    static func run(
        _ binary: String, _ arguments: [String], state: String, environment extra: [String: String] = [:],
        directory: String? = nil
    ) async throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_STATE_HOME"] = state
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = await withCheckedContinuation { (done: CheckedContinuation<String, Never>) in
            Thread {
                let bytes = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                done.resume(returning: String(decoding: bytes, as: UTF8.self))
            }.start()
        }
        return (process.terminationStatus, text)
    }
}

struct RehearsalError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
