import Dispatch
import Foundation
import IDAuditDeletion

extension DeletionRun {
    /// Runs with SIGINT/SIGTERM/SIGHUP handled: the first stops the run gracefully (exit 128 + n, with its report), the
    /// second exits at once.
    func runHandlingSignals(options: ApplyOptions) async throws -> (
        report: ApplyReport, journal: Journal, locks: [JournalLock]
    ) {
        var options = options
        let stop = StopRequest()
        options.stopRequest = stop
        let signals = SignalHandling.install { number, name in
            Terminal.warn(
                "\nidaudit: \(name): sending no new requests; waiting for those in flight (at most --timeout), then "
                    + "writing the report. A second \(name) stops at once (the journal stays consistent).")
            stop.stop(reason: "stopped by \(name): the lines not sent are sent by the next run", signal: number)
        }
        defer { signals.cancel() }
        let result = try await run(options: options)
        Terminal.endProgress()
        return result
    }
}

/// SIGINT, SIGTERM and SIGHUP (an ssh session dropped) while deleting: the first calls `first(signal, name)`, the second exits at once with 128 + n.
enum SignalHandling {
    struct Installed {
        fileprivate let sources: [any DispatchSourceSignal]
        func cancel() {
            for source in sources { source.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
            signal(SIGHUP, SIG_DFL)
        }
    }

    static func install(_ first: @escaping @Sendable (Int32, String) -> Void) -> Installed {
        let seen = SeenSignal()
        let sources = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")].map {
            number, name -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if seen.mark() {
                    Terminal.warn("\nidaudit: \(name) again: stopping now")
                    exit(128 + number)
                }
                first(number, name)
            }
            source.resume()
            return source
        }
        return Installed(sources: sources)
    }
}

/// Whether a signal came already.
private final class SeenSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = false
    /// Marks a signal; true when one came before.
    func mark() -> Bool {
        lock.withLock {
            defer { seen = true }
            return seen
        }
    }
}
