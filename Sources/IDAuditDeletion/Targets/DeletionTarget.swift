import Foundation

/// One HTTP request, ready to send: what an adapter builds from a plan line.
package struct WireRequest: Sendable, Equatable {
    /// `POST`, `DELETE`, ...
    package var method: String
    /// The absolute URL.
    package var url: String
    /// Header names and values, in order. Secrets live here only, never in logs or the journal.
    package var headers: [(name: String, value: String)]
    /// The body (JSON).
    package var body: [UInt8]

    /// Creates a request.
    package init(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    package static func == (a: WireRequest, b: WireRequest) -> Bool {
        a.method == b.method && a.url == b.url && a.body == b.body
            && a.headers.map { "\($0.name): \($0.value)" } == b.headers.map { "\($0.name): \($0.value)" }
    }

    /// The request as a person reads it in a dry run: method, URL and body; secret headers masked.
    package var redactedDescription: String {
        "\(method) \(url)\n  " + String(decoding: body, as: UTF8.self)
    }
}

/// An HTTP response.
package struct WireResponse: Sendable {
    /// The status code.
    package var status: Int
    /// Header names and values.
    package var headers: [(name: String, value: String)]
    /// The body (its first ``HTTPTransport/maxBodyBytes`` bytes).
    package var body: [UInt8]
    /// Whether the body was longer than what was kept: never a documented success, whatever its first bytes say.
    package var cut: Bool

    /// Creates a response.
    package init(status: Int, headers: [(name: String, value: String)], body: [UInt8], cut: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.cut = cut
    }

    /// The first value of a header, by case-insensitive name.
    package func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// `Retry-After` in seconds, from either of its forms: a number of seconds, or an HTTP date (RFC 9110).
    package var retryAfterSeconds: Double? { retryAfterSeconds(now: Date()) }

    /// The longest `Retry-After` honoured, in seconds: a server asking for an hour does not stall a worker for one
    /// (the line is retried after this, and answers 429 again if the server meant it).
    package static let maxRetryAfterSeconds = 60.0

    /// `Retry-After` in seconds as of `now`, at most ``maxRetryAfterSeconds``; nil (the default backoff) when it is
    /// absent, unparseable, negative or not finite.
    package func retryAfterSeconds(now: Date) -> Double? {
        guard let text = header("Retry-After")?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text) {
            guard seconds.isFinite, seconds >= 0 else { return nil }
            return min(seconds, Self.maxRetryAfterSeconds)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return min(max(0, date.timeIntervalSince(now)), Self.maxRetryAfterSeconds)
    }
}

/// What one line's plan says to do before anything is sent.
package enum Preparation: Sendable, Equatable {
    /// Send this request.
    case send(WireRequest)
    /// Do not send: the reason goes to the journal and the report.
    case skip(String)
}

/// A failed attempt's particulars, from the response: what a person needs to act on it.
package struct AttemptFailure: Sendable, Equatable, Codable {
    /// The HTTP status (0 for a network error).
    package var status: Int
    /// The platform's error code (`eid_not_found`, `forbidden`, ...), or the network error's kind.
    package var code: String
    /// The platform's message.
    package var message: String
    /// The response's `Request-Id` header, for the platform's support.
    package var requestID: String

    /// Creates a failure.
    package init(status: Int, code: String, message: String, requestID: String) {
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
    }

    enum CodingKeys: String, CodingKey {
        case status, code, message
        case requestID = "request_id"
    }

    /// The code of a throttle that is not a 429 (Insider One's 403 "Request Limit Exceeded").
    package static let rateLimited = "rate_limited"

    /// The longest message kept of an answer (after masking), in characters.
    static let messageLimit = 500

    /// The status of an attempt whose request never left (the connection was refused or never made): nothing was
    /// sent, so nothing can have been carried out.
    package static let notSentStatus = -1

    /// The codes idaudit itself gives (never a platform's text).
    static let ownCodes: Set<String> = [
        rateLimited, ApplyEngine.throttledOut, "network", "not_sent", "failed_in_2xx", "unconfirmed",
    ]

    /// The platform asked us to slow down (a 429, or a throttle in another status): back off, cut the rate, never
    /// an error to the breaker.
    package var isThrottle: Bool { status == 429 || code == Self.rateLimited }

    /// `403 forbidden: Deleted identifier not activated ... (Request-Id r-1)`.
    package var summary: String {
        var out = status > 0 ? "\(status)" : status == Self.notSentStatus ? "not sent" : "network"
        if !code.isEmpty { out += " \(code)" }
        if !message.isEmpty { out += ": \(message)" }
        if !requestID.isEmpty { out += " (Request-Id \(requestID))" }
        return out
    }
}

/// What one attempt's response means for its line.
package enum AttemptResult: Sendable, Equatable {
    /// Deleted (2xx); `alreadyAbsent` when the platform answered not-found to a line an earlier attempt of ours may
    /// have deleted (its answer was lost: in flight at a crash, a network error, a 5xx).
    case done(alreadyAbsent: Bool)
    /// The platform answered that the identifier is not there (Segment `eid_not_found`, Insider One "no such
    /// user"). What an adapter returns; the engine turns it into ``done(alreadyAbsent:)`` or
    /// ``absentBeforeApply(_:)`` from what the journal knows of earlier attempts.
    case notFound(AttemptFailure)
    /// Not there, and no earlier attempt of ours can have removed it: idaudit deleted nothing. A stale plan, a wrong
    /// lookup, space or type map look exactly like this; never counted as a deletion.
    case absentBeforeApply(AttemptFailure)
    /// Not deleted and not to be retried, for a reason that is not an error (the sole identifier, ...).
    case skipped(String)
    /// Worth another attempt (429, 5xx, network); `after` is the server's `Retry-After` when it gave one.
    case retry(AttemptFailure, after: Double?)
    /// A 2xx whose body is not the success the platform documents (a proxy's page, another API's envelope, an
    /// error inside a 200): the identifier may or may not be gone. Not done: never counted as a deletion, counted as
    /// an error by the breaker and the canary, sent again only with `--retry-unconfirmed` (a not-found then means
    /// this attempt deleted it).
    case unconfirmed(AttemptFailure)
    /// Failed for this line; the run goes on.
    case failed(AttemptFailure)
    /// Failed for every line (bad token, space not activated): the run stops at once.
    case stop(AttemptFailure)
}

/// A platform's delete API: how a plan line becomes a request, and what a response means.
///
/// Adapters are pure: they build requests and read responses. The engine (``ApplyEngine``) owns rate limiting,
/// concurrency, retries and the journal, the same for every platform.
package protocol DeletionTarget: Sendable {
    /// `segment` or `insider`.
    var name: String { get }
    /// Where deletions go, without secrets (`segment/spa_123`, `insider/<hash of the partner>`): the journal's key
    /// together with the plan's sha256.
    var destination: String { get }
    /// The platform's documented request budget, per second, for the whole space or account.
    var defaultRequestsPerSecond: Double { get }
    /// The platform's per-profile budget, per second, when it has one.
    var perProfileRequestsPerSecond: Double? { get }

    /// A check of the plan's lines in order, with what it remembers of the lines before (Insider One: never
    /// delete a profile's last identifier): why a line is not sent, or nil. One per pass over the plan.
    func makePreflight() -> (PlanEntry) -> String?
    /// The request for one line, or why it is not sent.
    func prepare(_ entry: PlanEntry) -> Preparation
    /// The key the per-profile budget is counted under.
    func profileKey(_ entry: PlanEntry) -> String
    /// What a response means.
    func classify(_ response: WireResponse) -> AttemptResult
    /// The run's secrets as they may appear in an answer (a token, its Basic form, a partner name): masked in every
    /// message the journal and the report keep.
    var secretValues: [String] { get }
}

extension DeletionTarget {
    package func makePreflight() -> (PlanEntry) -> String? { { _ in nil } }
    package var secretValues: [String] { [] }
}

extension AttemptResult {
    /// The answer's details, where the result carries them.
    var failure: AttemptFailure? {
        switch self {
        case .done, .skipped: nil
        case .notFound(let f), .absentBeforeApply(let f), .retry(let f, _), .unconfirmed(let f), .failed(let f),
            .stop(let f):
            f
        }
    }

    /// This outcome (read from the answer as it came) with what people are told of it from `told` (the same answer
    /// read with every secret masked): the outcome and idaudit's own codes stay (a 403 "Request Limit Exceeded" stays
    /// a throttle whatever a partner is named); the platform's code, the message, the request id and a skip's reason
    /// are the masked answer's (a raw text cut at 64 or 200 bytes could keep most of a secret that straddles the cut).
    package func told(by told: AttemptResult) -> AttemptResult {
        switch self {
        case .done: return self
        case .skipped:
            if case .skipped = told { return told }
            return .skipped("the platform refused the line; its answer held a secret and is not kept")
        default:
            guard var details = failure else { return self }
            details.message = told.failure?.message ?? "(the answer held a secret and is not kept)"
            details.requestID = told.failure?.requestID ?? ""
            if !AttemptFailure.ownCodes.contains(details.code) { details.code = told.failure?.code ?? "" }
            return with(failure: details)
        }
    }

    /// The same outcome, with `failure` as its details (a skip keeps its reason, a deletion has none).
    func with(failure f: AttemptFailure) -> AttemptResult {
        switch self {
        case .done, .skipped: self
        case .notFound: .notFound(f)
        case .absentBeforeApply: .absentBeforeApply(f)
        case .retry(_, let after): .retry(f, after: after)
        case .unconfirmed: .unconfirmed(f)
        case .failed: .failed(f)
        case .stop: .stop(f)
        }
    }

    /// The result with every secret in its messages masked (a network error's text may quote a header).
    /// `text` cut to `limit` characters, with a mark saying so.
    static func cut(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + " [cut: \(text.utf8.count) bytes in all]"
    }

    package func redacted(_ redactor: Redactor) -> AttemptResult {
        func mask(_ f: AttemptFailure) -> AttemptFailure {
            var f = f
            // Masked whole, then judged on its first 4,096 characters, then cut: a platform's message may be a
            // megabyte, and a report keeps 1,000 of them.
            let masked = String(redactor.redact(f.message).prefix(4096))
            f.message = Self.cut(redactor.redactKept(masked), to: AttemptFailure.messageLimit)
            // idaudit's own codes decide what the engine does next (a throttle, a throttled-out stop): never
            // masked (a partner named `limit` turned `rate_limited` into `rate_<redacted>ed`).
            // A platform's code is server text like a message (and never longer than a word).
            if !AttemptFailure.ownCodes.contains(f.code) { f.code = redactor.redactKept(String(f.code.prefix(64))) }
            // A request id is an opaque token by nature (a 32-hex trace id is what support asks for): masked, cut,
            // never judged by its looks.
            f.requestID = redactor.redactID(String(f.requestID.prefix(128)))
            return f
        }
        switch self {
        case .done: return self
        case .skipped(let reason): return .skipped(Self.cut(redactor.redactKept(reason), to: AttemptFailure.messageLimit))
        case .notFound(let f): return .notFound(mask(f))
        case .absentBeforeApply(let f): return .absentBeforeApply(mask(f))
        case .retry(let f, let after): return .retry(mask(f), after: after)
        case .unconfirmed(let f): return .unconfirmed(mask(f))
        case .failed(let f): return .failed(mask(f))
        case .stop(let f): return .stop(mask(f))
        }
    }
}

// MARK: - Helpers shared by adapters

/// Where a token may be sent.
package enum EndpointPolicy {
    /// Refuses a base URL that would carry a token in clear to another machine, or hide one in it: `https://` goes
    /// anywhere, `http://` only to this machine (`localhost`, `::1`, 127.0.0.0/8: the emulator) unless
    /// `allowInsecure`; user information (`http://127.0.0.1@elsewhere`) and other schemes are refused.
    package static func check(_ url: String, allowInsecure: Bool) throws(EndpointError) {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
            let host = parts.host, !host.isEmpty
        else { throw EndpointError(message: "--endpoint \(url): expected http(s)://host[:port]") }
        guard parts.user == nil, parts.password == nil, !url.contains("@") else {
            throw EndpointError(message: "--endpoint: user information in the URL is refused (it would reach logs)")
        }
        guard scheme == "https" || scheme == "http" else {
            throw EndpointError(message: "--endpoint \(url): expected an http:// or https:// URL")
        }
        guard !(parts.percentEncodedHost ?? "").contains("%"),
            (parts.percentEncodedHost ?? "").unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0 != "/" })
        else {
            throw EndpointError(message: "--endpoint \(url): a percent-encoded host names no one machine")
        }
        if let port = parts.port, !(1...65_535).contains(port) {
            throw EndpointError(message: "--endpoint \(url): port \(port) is not a port (1 to 65535)")
        }
        guard !parts.percentEncodedPath.dropFirst().contains("//") else {
            throw EndpointError(message: "--endpoint \(url): an empty path segment (//) names no one destination")
        }
        guard parts.query == nil, parts.fragment == nil else {
            throw EndpointError(message: "--endpoint \(url): a query or fragment has no place in a base URL")
        }
        guard !parts.path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw EndpointError(message: "--endpoint \(url): a path with . or .. segments names no one destination")
        }
        if scheme == "https" || allowInsecure || isLoopback(host) { return }
        throw EndpointError(
            message: "--endpoint \(url): plain http to \(host) would send the token in clear; use https, or pass "
                + "--insecure-http if this network is yours")
    }

    /// `localhost`, `::1`, or a dotted IPv4 address in 127.0.0.0/8 (not a name that merely starts with "127.").
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        let values = octets.map { part -> Int? in
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber) else {
                return nil
            }
            return Int(part)
        }
        guard values.allSatisfy({ $0.map { $0 <= 255 } == true }) else { return false }
        return values[0] == 127
    }
}

/// An endpoint a token may not be sent to.
package struct EndpointError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    package var message: String
    package var description: String { message }
}

/// A base URL reduced to what makes it one destination: the scheme and host in lower case, the port unless it is the
/// scheme's default, and the path prefix with its percent-encoding normalised (unreserved characters decoded, hex in
/// upper case) and no trailing slash. Behind a gateway that routes by path, `http://gw/staging` and `http://gw` are
/// two destinations, and so are `http://` and `https://` to one host.
package struct Endpoint: Sendable, Equatable {
    /// `https` or `http`.
    package var scheme: String
    /// The host, and `:port` when it is not the scheme's default.
    package var authority: String
    /// The path prefix, empty or starting with `/`, never ending with one.
    package var path: String

    /// Normalises `url`; a URL that cannot be parsed is kept as written (``EndpointPolicy/check(_:allowInsecure:)``
    /// refuses it before anything is sent).
    package init(_ url: String) {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), let host = parts.host
        else {
            self.init(scheme: "", authority: url, path: "")
            return
        }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        let port = parts.port.flatMap { $0 == defaultPort ? nil : ":\($0)" } ?? ""
        var path = Self.normalisedPercentEncoding(parts.percentEncodedPath)
        while path.hasSuffix("/") { path.removeLast() }
        self.init(scheme: scheme, authority: host.lowercased() + port, path: path)
    }

    private init(scheme: String, authority: String, path: String) {
        self.scheme = scheme
        self.authority = authority
        self.path = path
    }

    /// `https://profiles.segment.com`, `http://127.0.0.1:8080/staging-gateway`: for people.
    package var description: String { scheme.isEmpty ? authority : "\(scheme)://\(authority)\(path)" }

    /// The endpoint's part of a destination key: the host alone for the platforms' own hosts over `https` with no
    /// path (the form keys had before paths and schemes were bound, so the journals of real Segment and Insider One
    /// applies keep their keys), the whole endpoint for every other. An old key of any other host may have stood for
    /// one of its paths: it never matches a key of this form.
    package var key: String {
        scheme == "https" && path.isEmpty && Self.platformHosts.contains(authority) ? authority : description
    }

    /// The platforms' own hosts: Segment's regions and Insider One's.
    static let platformHosts: Set<String> = [
        "profiles.segment.com", "profiles.euw1.segment.com", "unification.useinsider.com",
    ]

    /// `%7e` -> `~`, `%2f` -> `%2F`: one spelling for each path.
    static func normalisedPercentEncoding(_ path: String) -> String {
        var out = ""
        var bytes = Array(path.utf8)[...]
        func hexValue(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2, let high = hexValue(bytes[bytes.startIndex]),
                let low = hexValue(bytes[bytes.startIndex + 1])
            {
                bytes.removeFirst(2)
                let value = high << 4 | low
                let decoded = Unicode.Scalar(value)
                // RFC 3986's unreserved characters mean the same encoded or not.
                if ("a"..."z").contains(decoded) || ("A"..."Z").contains(decoded) || ("0"..."9").contains(decoded)
                    || "-._~".unicodeScalars.contains(decoded)
                {
                    out.unicodeScalars.append(decoded)
                } else {
                    let hex = Array("0123456789ABCDEF".unicodeScalars)
                    out += "%" + String(hex[Int(value >> 4)]) + String(hex[Int(value & 15)])
                }
            } else {
                out.unicodeScalars.append(Unicode.Scalar(b))
            }
        }
        return out
    }
}

enum URLText {
    /// A base URL without its trailing slashes, every one, as ``Endpoint`` drops them: the destination's key names
    /// where requests go.
    static func withoutTrailingSlashes(_ url: String) -> String {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters: `+` becomes `%2B`, `/` becomes `%2F`.
    static func encodeSegment(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 15)]))
            }
        }
        return out
    }
}

/// The smallest JSON reading adapters need: a response body's object, leniently.
enum JSONBody {
    static func object(_ body: [UInt8]) -> [String: Any]? {
        guard !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// The body's text without the whitespace JSON allows around it (space, tab, LF, CR: nothing else).
    static func text(_ body: [UInt8]) -> String {
        String(decoding: body, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \t\n\r"))
    }

    /// Whether the body is exactly the JSON object `expected` (keys and string values), with JSON whitespace around
    /// its tokens at most: no other key, no key twice, no escape, no byte order mark, no trailing comma, nothing after
    /// it. Read by its own strict grammar (a lenient parser takes `{"a":"b",}`, and keeps the last of two keys).
    static func isExactly(_ body: [UInt8], _ expected: [String: String]) -> Bool {
        var i = 0
        func skipSpace() { while i < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[i]) { i += 1 } }
        func expect(_ byte: UInt8) -> Bool {
            skipSpace()
            guard i < body.count, body[i] == byte else { return false }
            i += 1
            return true
        }
        /// A string of printable characters with no escape and no quote inside.
        func string() -> String? {
            guard expect(0x22) else { return nil }
            let start = i
            while i < body.count, body[i] != 0x22 {
                guard body[i] >= 0x20, body[i] != 0x5C, body[i] != 0x7F else { return nil }
                i += 1
            }
            guard i < body.count else { return nil }
            defer { i += 1 }
            return String(validating: body[start..<i], as: UTF8.self)
        }
        guard expect(0x7B) else { return false }
        var seen: [String: String] = [:]
        repeat {
            guard let key = string(), expect(0x3A), let value = string(), seen[key] == nil else { return false }
            seen[key] = value
        } while expect(0x2C)
        guard expect(0x7D) else { return false }
        skipSpace()
        return i == body.count && seen == expected
    }

    /// An unconfirmed 2xx: its status and the first 200 bytes of its body, for the report and the journal.
    static func unconfirmed(_ response: WireResponse, requestID: String, _ why: String) -> AttemptResult {
        .unconfirmed(
            AttemptFailure(
                status: response.status, code: "unconfirmed_2xx",
                message: "\(why): \(String(decoding: response.body.prefix(200), as: UTF8.self))", requestID: requestID))
    }
}
