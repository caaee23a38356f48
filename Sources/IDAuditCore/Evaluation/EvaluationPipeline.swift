import Dispatch

/// Evaluates batches of profiles on a second thread while the caller reads the next batch and writes the previous
/// results: reading and writing stay on the caller's thread, the evaluation (pure) runs beside it. Results are
/// written in the order profiles were submitted.
public final class EvaluationPipeline<Result: Sendable> {
    private let transform: @Sendable (Profile) -> Result
    private let write: (Result) throws -> Void
    private let queue = DispatchQueue(label: "idaudit.evaluate")
    private var batch: [Profile] = []
    private var inFlight: (item: DispatchWorkItem, results: ResultBox<Result>)?
    private let batchSize = 256

    /// - Parameters:
    ///   - transform: the evaluation of one profile (run on the second thread).
    ///   - write: takes each result, on the caller's thread.
    public init(_ transform: @escaping @Sendable (Profile) -> Result, write: @escaping (Result) throws -> Void) {
        self.transform = transform
        self.write = write
        batch.reserveCapacity(batchSize)
    }

    /// Queues one profile.
    public func submit(_ profile: Profile) throws {
        batch.append(profile)
        if batch.count == batchSize { try flushBatch() }
    }

    private func flushBatch() throws {
        let profiles = batch
        batch.removeAll(keepingCapacity: true)
        let box = ResultBox<Result>()
        let transform = self.transform
        let item = DispatchWorkItem { box.results = profiles.map(transform) }
        queue.async(execute: item)
        try drain()
        inFlight = (item, box)
    }

    private func drain() throws {
        guard let (item, box) = inFlight else { return }
        item.wait()
        inFlight = nil
        for result in box.results { try write(result) }
    }

    /// Evaluates and writes what is left.
    public func finish() throws {
        if !batch.isEmpty { try flushBatch() }
        try drain()
    }
}

/// Results handed back from the evaluation thread; written there before `wait()` returns, read here after.
private final class ResultBox<Result: Sendable>: @unchecked Sendable {
    var results: [Result] = []
}
