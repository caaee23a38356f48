import Foundation
@testable import IDAuditEngine
import Testing

/// Issue 18: an engine's process ends with idaudit's run, whole: a timeout stops its process group (a JVM it started
/// included), and what it said last is kept for the error.
struct EngineProcessTests {
    @Test func aTimeoutStopsTheWholeProcessGroupAndKeepsTheLastLines() throws {
        let pidFile = FileManager.default.temporaryDirectory.path + "/idaudit-engine-\(getpid()).pid"
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let lines = LockedLines()
        let outcome = try EngineProcess.run(
            ["sh", "-c", "sleep 60 & echo $! > \(pidFile); echo starting; echo 'idaudit-progress: statement 1 of 2'; "
                + "echo stuck >&2; sleep 60"],
            timeout: 1, progress: { lines.append($0) })
        #expect(outcome.timedOut)
        #expect(outcome.log == ["starting", "stuck"])
        #expect(lines.all == ["statement 1 of 2"])
        let child = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        // The background sleep, a grandchild, is gone with its group.
        var gone = false
        for _ in 0..<50 where !gone {
            gone = kill(child, 0) != 0
            if !gone { usleep(100_000) }
        }
        #expect(gone)
    }

    @Test func anExitStatusIsTheEnginesOwn() throws {
        let outcome = try EngineProcess.run(["sh", "-c", "echo 'idaudit-engine-error: no table'; exit 3"], timeout: nil, progress: nil)
        #expect(outcome.status == 3)
        #expect(!outcome.timedOut)
        #expect(outcome.log == ["idaudit-engine-error: no table"])
    }

    @Test func theErrorCarriesTheEnginesLastLines() {
        let text = ProcessEngine.lastLines(["a", " ", "b"])
        #expect(text == "; its last log lines:\n  a\n  b")
    }
}

/// Lines collected from another thread.
private final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
