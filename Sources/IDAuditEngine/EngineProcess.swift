import Foundation

/// An engine's child process, run so that it always ends with idaudit: its process group (spark-submit starts a JVM,
/// which starts the Python driver) is stopped whole by a timeout or by idaudit's own SIGINT or SIGTERM, never
/// leaving an orphaned JVM (on a cluster, a driver that keeps its executors).
enum EngineProcess {
    /// How a run ended.
    struct Outcome: Sendable {
        /// The exit status (a signal's number plus 128 when killed).
        var status: Int32
        /// Whether the timeout stopped it.
        var timedOut: Bool
        /// Its log: stdout and stderr lines, progress lines excepted, the last 200.
        var log: [String]
    }

    /// The marker of a progress line the runner prints.
    static let progressMarker = "idaudit-progress: "

    /// Runs `command` to its end, passing progress lines to `progress`.
    static func run(
        _ command: [String], environment: [String: String] = [:], timeout: Double?,
        progress: (@Sendable (String) -> Void)?
    ) throws(EngineError) -> Outcome {
        let process = Process()
        if !environment.isEmpty {
            // Added to idaudit's own (never on the command line, which `ps` shows).
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        // Foundation starts the child as the leader of a process group of its own (so a terminal's Ctrl-C reaches
        // idaudit alone, which stops the group below).
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        // One pipe for both: spark-submit hands the Python driver's stderr to its own stdout.
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw EngineError("cannot start \(command.first ?? "the engine"): \(error)")
        }
        let group = process.processIdentifier
        let state = StopState()
        // idaudit's own SIGINT and SIGTERM stop the engine's whole group (SIGTERM, then SIGKILL what is left after 5
        // seconds; a second signal kills it at once); idaudit exits with 128 + the signal once the engine has ended.
        let signals = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if state.signal != nil {
                    kill(-group, SIGKILL)
                    return
                }
                state.signal = number
                stop(group)
            }
            source.resume()
            return source
        }
        defer {
            for source in signals { source.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        if let timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                guard process.isRunning else { return }
                state.timedOut = true
                stop(group)
            }
        }
        var log: [String] = []
        var pending = Data()
        let handle = output.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let end = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<end], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...end)
                if let marker = line.range(of: progressMarker) {
                    progress?(String(line[marker.upperBound...]))
                } else {
                    log.append(line)
                    if log.count > 200 { log.removeFirst(log.count - 200) }
                }
            }
        }
        if !pending.isEmpty { log.append(String(decoding: pending, as: UTF8.self)) }
        process.waitUntilExit()
        // Whatever the group started and left behind (a JVM whose launcher died) ends with the run.
        kill(-group, SIGKILL)
        if let number = state.signal {
            FileHandle.standardError.write(Data("\nidaudit: stopped by signal \(number); the engine was stopped\n".utf8))
            exit(128 + number)
        }
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Outcome(status: status, timedOut: state.timedOut, log: log)
    }

    /// SIGTERM to the group, then SIGKILL to what is left after 5 seconds.
    static func stop(_ group: pid_t) {
        kill(-group, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + 5) { kill(-group, SIGKILL) }
    }
}

/// Why the engine was stopped: the timeout, or a signal to idaudit; set on a timer's or a signal's queue and read after
/// the process ended (the lock orders them).
private final class StopState: @unchecked Sendable {
    private let lock = NSLock()
    private var timeout = false
    private var received: Int32?
    var timedOut: Bool {
        get { lock.withLock { timeout } }
        set { lock.withLock { timeout = newValue } }
    }
    var signal: Int32? {
        get { lock.withLock { received } }
        set { lock.withLock { received = newValue } }
    }
}
