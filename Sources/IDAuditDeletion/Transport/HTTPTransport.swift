import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Sends ``WireRequest``s over AsyncHTTPClient: HTTP/1.1 or HTTP/2 (over TLS), pooled connections.
package final class HTTPTransport: Sendable {
    private let client: HTTPClient
    private let timeoutNanoseconds: Int64
    private let timeoutSeconds: Double

    /// A transport allowing `connections` concurrent connections per host, each exchange (connection, request,
    /// response head and body) bounded by `timeoutSeconds` (at most ``ApplyOptions/timeoutRange``).
    package init(connections: Int, timeoutSeconds requested: Double) {
        // Options are validated before a transport is made; the clamp keeps a library caller's nonsense from trapping.
        let timeoutSeconds = requested.isNaN ? 30 : min(max(requested, 0.001), ApplyOptions.timeoutRange.upperBound)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
        // Connecting gives up well before the exchange's deadline: a connection refused (retried by the client
        // until then) is then told as never sent, not lost in the deadline, which would leave the line in doubt.
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: .milliseconds(Int64(min(10, timeoutSeconds / 2) * 1000)))
        configuration.redirectConfiguration = .disallow
        // HTTP/1.1 only: the connection limit above is what lets enough requests be in flight; over HTTP/2 they
        // would queue behind the server's stream limit on one connection.
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        timeoutNanoseconds = Int64(timeoutSeconds * 1e9)
        self.timeoutSeconds = timeoutSeconds
    }

    /// The most of a response body kept; the rest is read and dropped, and the status stands.
    package static let maxBodyBytes = 1 << 20

    /// Sends one request and reads its response (bodies over ``maxBodyBytes`` are cut, never an error: the status
    /// is what decides a line), all within the transport's time limit: a server that sends its headers and then
    /// trickles the body is cut off at the deadline like one that never answers.
    ///
    /// - Throws: a network error (refused, reset, timed out, ``TransportDeadline``): the caller retries those.
    package func send(_ request: WireRequest) async throws -> WireResponse {
        // AsyncHTTPClient's deadline ends at the response head; the race below covers the body too. Cancelling the
        // exchange closes its connection, so the losing task ends at once.
        try await withThrowingTaskGroup(of: WireResponse?.self) { group in
            group.addTask { try await self.exchange(request) }
            group.addTask {
                try await Task.sleep(for: .nanoseconds(self.timeoutNanoseconds))
                return nil
            }
            defer { group.cancelAll() }
            do {
                guard let first = try await group.next(), let response = first else {
                    throw TransportDeadline(seconds: timeoutSeconds)
                }
                return response
            } catch let error as HTTPClientError where error == .deadlineExceeded {
                // The client's own deadline (no response head in time): the same outcome, told the same way.
                throw TransportDeadline(seconds: timeoutSeconds)
            }
        }
    }

    private func exchange(_ request: WireRequest) async throws -> WireResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(outgoing, deadline: .now() + .nanoseconds(timeoutNanoseconds))
        } catch where Self.neverLeft(error) {
            throw TransportNotSent(reason: "\(error)")
        }
        var bytes: [UInt8] = []
        var cut = false
        for try await var chunk in response.body {
            let room = Self.maxBodyBytes - bytes.count
            if chunk.readableBytes > room { cut = true }
            if room > 0, let part = chunk.readBytes(length: min(room, chunk.readableBytes)) { bytes += part }
        }
        return WireResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: bytes,
            cut: cut)
    }

    /// Whether `error` means the request never left this machine: the connection was refused (a refusal comes only
    /// in answer to a connection attempt), a name did not resolve, or no connection (TLS included) was made in time.
    /// Anything else (a reset, a closed connection, a timeout once connected) may come after the request was sent.
    static func neverLeft(_ error: any Error) -> Bool {
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        if let error = error as? HTTPClientError { return error == .connectTimeout }
        if error is NIOConnectionError { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        return false
    }

    /// Closes the connections; call once, when done.
    package func shutdown() async {
        try? await client.shutdown()
    }

    /// Runs `body` with a new transport and shuts it down afterwards, whether `body` returns or throws (a client
    /// dropped without a shutdown leaks its connections, and debug builds of AsyncHTTPClient stop the process).
    package static func with<Value>(
        connections: Int, timeoutSeconds: Double, _ body: (HTTPTransport) async throws -> Value
    ) async throws -> Value {
        let transport = HTTPTransport(connections: connections, timeoutSeconds: timeoutSeconds)
        do {
            let result = try await body(transport)
            await transport.shutdown()
            return result
        } catch {
            await transport.shutdown()
            throw error
        }
    }
}

/// A request that never left: no connection was made (refused, unresolved, timed out connecting). Nothing was sent,
/// so nothing can have been carried out: a later not-found on its line is not ours.
package struct TransportNotSent: Error, Sendable, CustomStringConvertible {
    /// The connection's error.
    package var reason: String
    package var description: String { "not sent (no connection was made): \(reason)" }
}

/// An exchange that did not finish within the time limit (the request may have been carried out).
package struct TransportDeadline: Error, Sendable, CustomStringConvertible {
    /// The limit, in seconds.
    package var seconds: Double
    package var description: String {
        let limit = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        return "no complete answer within --timeout \(limit) s (the request may have been carried out)"
    }
}
