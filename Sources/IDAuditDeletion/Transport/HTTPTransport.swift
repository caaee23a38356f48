import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Sends ``WireRequest``s over AsyncHTTPClient: HTTP/1.1 or HTTP/2 (over TLS), pooled connections.
public final class HTTPTransport: Sendable {
    private let client: HTTPClient
    private let timeout: TimeAmount

    /// A transport allowing `connections` concurrent connections per host, each request bounded by
    /// `timeoutSeconds`.
    public init(connections: Int, timeoutSeconds: Double) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: .milliseconds(Int64(min(10, timeoutSeconds) * 1000)))
        configuration.redirectConfiguration = .disallow
        // HTTP/1.1 only: the connection limit above is what lets enough requests be in flight; over HTTP/2 they
        // would queue behind the server's stream limit on one connection.
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        timeout = .milliseconds(Int64(timeoutSeconds * 1000))
    }

    /// Sends one request and reads the whole response (bodies over 1 MiB are cut).
    ///
    /// - Throws: a network error (refused, reset, timed out): the caller retries those.
    public func send(_ request: WireRequest) async throws -> WireResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        let response = try await client.execute(outgoing, timeout: timeout)
        var body = try await response.body.collect(upTo: 1 << 20)
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        return WireResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: bytes)
    }

    /// Closes the connections; call once, when done.
    public func shutdown() async {
        try? await client.shutdown()
    }
}
