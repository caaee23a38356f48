#if canImport(Glibc)
    import Glibc
#endif

/// Prints how long each phase of an ingest or scan took, on stderr, when `IDAUDIT_TRACE` is set.
public final class PhaseTrace: @unchecked Sendable {
    // Used from one thread at a time (inside one database transaction); never shared.
    private let enabled = getenv("IDAUDIT_TRACE") != nil
    private var last: Double

    public init() { last = PhaseTrace.now() }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func mark(_ phase: String) {
        guard enabled else { return }
        let t = PhaseTrace.now()
        let ms = Int((t - last) * 1000)
        var line = "trace: \(phase): \(ms) ms\n"
        line.withUTF8 { b in _ = write(STDERR_FILENO, b.baseAddress, b.count) }
        last = t
    }
}
