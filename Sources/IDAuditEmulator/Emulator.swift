import HTTPTypes
import Hummingbird
import IDAuditStore
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import Synchronization

/// A local Segment and Insider One: their delete endpoints, over the profiles of a store, with the platforms'
/// status codes, error codes and messages, token checks, server-side budgets, and injected latency and faults.
///
/// Segment deletions are kept in memory: the store is only read. With ``EmulatorOptions/writeToStore`` (for a copy
/// of a store: tests, benchmarks) they are written back as REMOVED rows of `external_id_mapping_updates`, as
/// Profiles Sync would, so a re-scan after an apply shows the profiles clean. Insider One's side sees each canonical
/// profile as one user, through the type map, and keeps its deletions to itself.
///
/// Endpoints:
/// - `POST /v1/spaces/{space}/collections/users/profiles/user_id:{lookup}/external_ids/delete` (Segment)
/// - `DELETE /api/user/v1/identity` (Insider One, identifiers)
/// - `POST /api/user/v1/attribute/delete` (Insider One, attributes; users from ``EmulatorOptions/insiderUsers``)
package final class Emulator: Sendable {
    let state: EmulatorState
    /// The options it runs with.
    package let options: EmulatorOptions

    /// An emulator serving `store`.
    package init(store: ProfileStore, options: EmulatorOptions) {
        state = EmulatorState(store: store, options: options)
        self.options = options
    }

    /// What it has answered so far.
    package func statistics() async -> EmulatorStatistics { await state.snapshot() }

    /// Writes deletions not yet written to the store (with ``EmulatorOptions/writeToStore``; otherwise nothing).
    package func flush() async throws { try await state.flush() }

    /// The routes.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let state = self.state
        let latency = options.latencyMilliseconds
        let requestCounter = RequestCounter()
        router.post("/v1/spaces/:space/collections/:collection/profiles/:lookup/external_ids/delete") {
            request, context -> Response in
            if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
            let body = try await request.body.collect(upTo: 5 << 20)
            let answer = await state.segmentDelete(
                space: context.parameters.get("space") ?? "", collection: context.parameters.get("collection") ?? "",
                lookup: context.parameters.get("lookup") ?? "", authorization: request.headers[.authorization],
                body: Array(buffer: body))
            return Self.response(answer, requestID: requestCounter.next())
        }
        router.delete("/api/user/v1/identity") { request, context -> Response in
            if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
            let body = try await request.body.collect(upTo: 5 << 20)
            let answer = await state.insiderDeleteIdentity(
                partner: request.headers[Self.partnerHeader], token: request.headers[Self.tokenHeader],
                body: Array(buffer: body))
            return Self.response(answer, requestID: requestCounter.next())
        }
        router.post("/api/user/v1/attribute/delete") { request, context -> Response in
            if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
            let body = try await request.body.collect(upTo: 16 << 20)
            let answer = await state.insiderDeleteAttributes(
                partner: request.headers[Self.partnerHeader], token: request.headers[Self.tokenHeader],
                body: Array(buffer: body))
            return Self.response(answer, requestID: requestCounter.next())
        }
        return router
    }

    /// A user's attributes at Insider One's side, as sorted JSON, found by one of its identifiers (plan type).
    package func insiderAttributes(type: String, value: String) async -> String? {
        await state.attributesJSON(type: type, value: value)
    }

    static let partnerHeader = HTTPField.Name("X-PARTNER-NAME")!
    static let tokenHeader = HTTPField.Name("X-REQUEST-TOKEN")!
    static let requestIDHeader = HTTPField.Name("Request-Id")!

    static func response(_ answer: Answer, requestID: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: answer.status),
            headers: [.contentType: "application/json", requestIDHeader: requestID],
            body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// The service group serving the emulator; `onStarted` is called with the bound port once it listens.
    func serviceGroup(gracefulShutdownSignals: [UnixSignal], onStarted: @escaping @Sendable (Int) async -> Void)
        -> ServiceGroup
    {
        var logger = Logger(label: "idaudit.emulator")
        logger.logLevel = .warning
        let app = Application(
            router: router(),
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port)),
            onServerRunning: { channel in await onStarted(channel.localAddress?.port ?? 0) },
            logger: logger)
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [app], gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
    }

    /// Runs a service group, writing deletions to the store every ``EmulatorOptions/flushMilliseconds`` and once
    /// more when it stops.
    func serve(_ group: ServiceGroup) async throws {
        let state = self.state
        let interval = options.flushMilliseconds
        let flusher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(interval))
                try? await state.flush()
            }
        }
        defer { flusher.cancel() }
        try await group.run()
        flusher.cancel()
        try await state.flush()
    }

    /// Serves until SIGTERM or SIGINT (the `emulate` command).
    package func run(onStarted: @escaping @Sendable (Int) async -> Void) async throws {
        try await serve(serviceGroup(gracefulShutdownSignals: [.sigterm, .sigint], onStarted: onStarted))
    }
}

/// An emulator serving in the background (tests, benchmarks): its port, and a way to stop it.
package final class RunningEmulator: Sendable {
    /// The emulator.
    package let emulator: Emulator
    /// The bound port.
    package let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// `http://127.0.0.1:PORT`: the `--endpoint` for `apply`.
    package var endpoint: String { "http://\(emulator.options.host):\(port)" }

    private init(emulator: Emulator, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.emulator = emulator
        self.port = port
        self.group = group
        self.task = task
    }

    /// Starts an emulator over `store` (use port 0 for any free port) and returns once it listens.
    package static func start(store: ProfileStore, options: EmulatorOptions) async throws -> RunningEmulator {
        let emulator = Emulator(store: store, options: options)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let group = emulator.serviceGroup(gracefulShutdownSignals: []) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let task = Task {
            defer { continuation.finish() }
            try await emulator.serve(group)
        }
        for await port in ports {
            return RunningEmulator(emulator: emulator, port: port, group: group, task: task)
        }
        try await task.value
        throw EmulatorError(message: "the emulator stopped before it listened")
    }

    /// Stops serving and writes the last deletions to the store.
    package func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

/// The emulator could not start.
package struct EmulatorError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    package var message: String
    package var description: String { message }
}

/// Request-Id values: `emu-1`, `emu-2`, ...
final class RequestCounter: Sendable {
    private let counter = Mutex(0)

    func next() -> String {
        "emu-" + String(counter.withLock { value in
            value += 1
            return value
        })
    }
}
