import IDAuditCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Output helpers: messages on stdout, progress and errors on stderr.
///
/// Progress on a terminal is one line rewritten in place; on a pipe or a log (CI, cron) it is a line every few
/// seconds (`IDAUDIT_PROGRESS_SECONDS`, 5 by default) with the time spent, and the rate and ETA where the step
/// knows them, so a long step is never silent.
enum Terminal {
    static let isInteractive = isatty(STDERR_FILENO) == 1

    /// Seconds between progress lines when stderr is not a terminal.
    static let pipedInterval: Double = {
        if let text = getenv("IDAUDIT_PROGRESS_SECONDS").map({ String(cString: $0) }), let seconds = Double(text),
            seconds >= 0
        {
            return seconds
        }
        return 5
    }()

    /// When the current step started and when a progress line was last printed (monotonic seconds), and the last
    /// count (a count that goes down is a new step: the next file of an ingest).
    private static let step = Mutex<(started: Double?, printed: Double, count: Int)>((nil, 0, 0))

    /// Reports progress on the current step: `count` (rows, profiles) gives a rate, `fraction` (0...1) an ETA.
    static func progress(_ text: String, count: Int? = nil, fraction: Double? = nil) {
        if isInteractive {
            writeError("\r\u{1B}[2K" + text)
            return
        }
        let now = Clock.monotonic()
        let elapsed: Double? = step.withLock { state in
            guard let started = state.started, (count ?? state.count) >= state.count else {
                state = (now, state.started == nil ? now : state.printed, count ?? 0)
                return nil
            }
            if let count { state.count = count }
            guard now - state.printed >= pipedInterval else { return nil }
            state.printed = now
            return now - started
        }
        guard let elapsed else { return }
        var line = "idaudit: [\(seconds(elapsed))] \(text)"
        if let count, elapsed > 0 { line += ", \(Terminal.count(Int((Double(count) / elapsed).rounded())))/s" }
        if let fraction, fraction > 0, fraction < 1 {
            line += ", ETA \(seconds(elapsed * (1 - fraction) / fraction))"
        }
        writeError(line + "\n")
    }

    /// Ends the current step: on a terminal, clears the progress line.
    static func endProgress() {
        step.withLock { $0 = (nil, 0, 0) }
        guard isInteractive else { return }
        writeError("\r\u{1B}[2K")
    }

    /// Text a server sent, made inert for a terminal: control characters (C0, DEL, C1), bidirectional controls and
    /// line or paragraph separators shown as `\u{..}`, so an answer cannot move the cursor, rewrite or reorder a
    /// line, or reach the clipboard.
    static func inert(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
                || v == 0x200E || v == 0x200F || v == 0x061C || v == 0x2028 || v == 0x2029
            {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// ``inert(_:)`` line by line: an error's own line breaks stay (an engine's last log lines), anything else an
    /// input put in it (a file's value, an approval's approved_by) cannot drive the terminal.
    static func inertLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { inert(String($0)) }.joined(separator: "\n")
    }

    static func warn(_ text: String) {
        writeError(text + "\n")
    }

    private static func writeError(_ text: String) {
        var text = text
        text.withUTF8 { b in _ = write(STDERR_FILENO, b.baseAddress, b.count) }
    }

    /// 1234567 -> "1,234,567".
    static func count(_ n: Int) -> String { NumberText.grouped(n) }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func padLeft(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    /// Seconds as "12.3 s".
    static func seconds(_ s: Double) -> String {
        let tenths = Int((s * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) s"
    }
}

/// Wall-clock time.
enum Clock {
    static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Instant(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `reports/2026-11-25T081500Z/`: the default output folder of a scan.
    static func defaultReportFolder() -> String {
        let text = now().description  // 2026-11-25T08:15:00.123456Z
        let stamp = text.prefix(19).replacingOccurrences(of: ":", with: "") + "Z"
        return "reports/\(stamp)/"
    }
}

extension StringProtocol {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
