import Foundation
import IDAuditCore

/// Insider One's Delete Identifiers API (domain notes §5): `DELETE {base}/api/user/v1/identity` with
/// `{"identifiers":{"email":"..."}}` (or `phone_number` in E.164, `uuid`, `{"custom":{"<type>":"..."}}`), one
/// user per request, headers `X-PARTNER-NAME` (lowercase, no spaces) and `X-REQUEST-TOKEN`, 25,000 requests/min.
///
/// The identifier addresses its user, so every excess line is sent (no lookup, remediable or not), except a line
/// that would leave the profile with no identifier: Insider One refuses to delete a user's sole identifier.
package struct InsiderTarget: DeletionTarget {
    /// Insider One's host.
    package static let defaultBaseURL = "https://unification.useinsider.com"

    /// Scheme and host, without a trailing slash.
    package var baseURL: String
    /// How plan types map to Insider keys.
    package var typeMap: InsiderTypeMap
    private let partner: String
    private let token: Secret
    private let identifierCounts: [String: [String: Int]]?

    /// Creates the adapter; refuses a partner name Insider One would refuse (not lowercase, spaces, empty).
    ///
    /// - Parameter identifierCounts: the active identifiers per canonical profile and type, as the store knows
    ///   them, for the sole-identifier check; nil skips the check (Insider One's 400 answer still counts as skipped).
    package init(
        partner: String, baseURL: String = InsiderTarget.defaultBaseURL, token: Secret,
        typeMap: InsiderTypeMap = InsiderTypeMap(), identifierCounts: [String: [String: Int]]? = nil
    ) throws(InsiderPartnerError) {
        guard !partner.isEmpty, partner == partner.lowercased(), !partner.contains(where: \.isWhitespace) else {
            throw InsiderPartnerError(
                message: "the partner name must be lowercase with no spaces (Insider One answers 400 "
                    + "\"Partner is invalid.\" otherwise); copy it from InOne Settings > Account Settings")
        }
        self.partner = partner
        self.baseURL = URLText.withoutTrailingSlashes(baseURL)
        self.token = token
        self.typeMap = typeMap
        self.identifierCounts = identifierCounts
    }

    package var name: String { "insider" }
    package var secretValues: [String] { [token.value, partner] }
    /// The partner name is kept out of the journal: a short hash stands for it. A type map that changes what is
    /// sent is part of the destination too, so lines done under another map are sent again under this one.
    package var destination: String { Self.destination(partner: partner, baseURL: baseURL, typeMap: typeMap).key }

    /// The destination a plan for `partner` at `baseURL` under `typeMap` is approved and journaled under.
    package static func destination(partner: String, baseURL: String, typeMap: InsiderTypeMap) -> ApprovedDestination {
        let endpoint = Endpoint(baseURL)
        let partnerHash = String(SHA256Text.hex(partner).prefix(12))
        var key = "insider/\(endpoint.key)/\(partnerHash)"
        var details = ["target": "insider", "endpoint": endpoint.description, "partner_sha256": partnerHash]
        if let fingerprint = typeMap.fingerprint {
            key += "/types-" + fingerprint.prefix(12)
            details["type_map_sha256"] = String(fingerprint.prefix(12))
        }
        return ApprovedDestination(key: key, details: details)
    }
    /// 1,000 requests/min per key for `DELETE /api/user/v1/identity`: Insider One's rate limits are per endpoint
    /// (its "API rate limits" page, as compiled publicly by api-evangelist/insider; domain notes §5); the 25,000/min
    /// pool belongs to upsert and attribute delete only. `--max-rpm` sets another.
    package static let identityRequestsPerMinute = 1_000.0
    package var defaultRequestsPerSecond: Double { Self.identityRequestsPerMinute / 60 }
    package var perProfileRequestsPerSecond: Double? { nil }

    package func profileKey(_ entry: PlanEntry) -> String { entry.segmentID }

    package func makePreflight() -> (PlanEntry) -> String? {
        // Identifiers left to each profile the plan touches so far: this grows with the plan's profiles, not lines.
        var remaining: [String: Int] = [:]
        // Two Segment types the type map sends to one Insider One key (email and email_address to email) name one
        // identifier: the second request would find it gone and count as "not there".
        var identifiers = DuplicateFinder()
        return { entry in
            if let reason = self.unsendable(entry) { return reason }
            let key: String =
                switch self.typeMap.key(for: entry.type) {
                case .email: "email"
                case .phoneNumber: "phone_number"
                case .uuid: "uuid"
                case .custom(let name): "custom " + name
                case .skip: "skip"
                }
            if let first = identifiers.earlierLine(type: key, value: entry.value) {
                return "the same Insider One identifier (\(key)) as line \(first), through the type map: sent once"
            }
            if let counts = self.identifierCounts?[entry.segmentID] {
                let left =
                    remaining[entry.segmentID]
                    ?? counts.reduce(0) { sum, item in self.typeMap.key(for: item.key) == .skip ? sum : sum + item.value }
                if left <= 1 {
                    remaining[entry.segmentID] = left
                    return "sole identifier: deleting it would leave the profile with no identifier (Insider One refuses)"
                }
                remaining[entry.segmentID] = left - 1
            }
            // Only a line that is sent names its identifier (a line skipped as a sole identifier sent nothing).
            identifiers.remember(type: key, value: entry.value, line: entry.line)
            return nil
        }
    }

    /// Why a line cannot be sent whatever the store says.
    private func unsendable(_ entry: PlanEntry) -> String? {
        switch typeMap.key(for: entry.type) {
        case .skip: return "\(entry.type) is not an identifier at Insider One (type map: skip)"
        case .phoneNumber where !Self.isE164(entry.value):
            return "phone_number must be in E.164 (+6598765432) for Insider One"
        default: return nil
        }
    }

    /// `+` then 2 to 15 digits, the first not 0.
    static func isE164(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 3, b.count <= 16, b[0] == UInt8(ascii: "+"), b[1] != UInt8(ascii: "0") else { return false }
        return b.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    package func prepare(_ entry: PlanEntry) -> Preparation {
        if let reason = unsendable(entry) { return .skip(reason) }
        let identifier: String
        switch typeMap.key(for: entry.type) {
        case .email: identifier = "{\"email\":" + JSONText.quote(entry.value) + "}"
        case .phoneNumber: identifier = "{\"phone_number\":" + JSONText.quote(entry.value) + "}"
        case .uuid: identifier = "{\"uuid\":" + JSONText.quote(entry.value) + "}"
        case .custom(let name):
            identifier = "{\"custom\":{" + JSONText.quote(name) + ":" + JSONText.quote(entry.value) + "}}"
        case .skip: return .skip("\(entry.type) is not an identifier at Insider One (type map: skip)")
        }
        return .send(
            WireRequest(
                method: "DELETE", url: baseURL + "/api/user/v1/identity",
                headers: [
                    ("X-PARTNER-NAME", partner), ("X-REQUEST-TOKEN", token.value),
                    ("Content-Type", "application/json"), ("User-Agent", "idaudit"),
                ],
                body: Array(("{\"identifiers\":" + identifier + "}").utf8)))
    }

    package func classify(_ response: WireResponse) -> AttemptResult {
        Self.classifyInsider(response, endpoint: .identity)
    }

    /// The Insider One endpoints idaudit calls, whose documented successes differ.
    enum InsiderEndpoint {
        /// `DELETE /api/user/v1/identity`: a 200 with an empty body or `{}` (domain notes §5: the collection shows
        /// no body; Update Identifiers, its sibling, answers `{}`).
        case identity
        /// `POST /api/user/v1/attribute/delete`: a 200 with `{}` (seed 004: "accepted and processed"). The envelope
        /// the collection also shows counts users, not which: never a confirmation of a whole batch.
        case attribute
    }

    /// Insider One's answers, shared by identifier and attribute deletion.
    ///
    /// A 2xx is done only when it is a 200 whose body is the success Insider One documents for the endpoint. One
    /// that reports per-record failures in its documented envelope (`{"data":{"successful":{...},"fail":{"count":M,
    /// "errors":{"users.0.<path>":["..."]}}}}`, domain notes §5) is failed; any other 2xx (an error or
    /// `"success":false` in a 200 included: it may have deleted) is unconfirmed, never inferred to be a deletion.
    static func classifyInsider(_ response: WireResponse, endpoint: InsiderEndpoint) -> AttemptResult {
        let object = JSONBody.object(response.body)
        let message =
            object?["error"] as? String ?? object?["message"] as? String
            ?? String(decoding: response.body.prefix(200), as: UTF8.self)
        let failure = AttemptFailure(
            status: response.status, code: "", message: message,
            requestID: response.header("Request-Id") ?? response.header("X-Request-Id") ?? "")
        switch response.status {
        case 200..<300:
            let text = JSONBody.text(response.body)
            if response.status == 200, text == "{}" || (endpoint == .identity && text.isEmpty) {
                return .done(alreadyAbsent: false)
            }
            // Per-record failures in Insider One's documented envelope are refusals; any other 2xx is unconfirmed.
            if let problem = bodyFailure(object) {
                var reported = failure
                reported.code = "failed_in_2xx"
                reported.message = problem
                // Failed only when the envelope says no record succeeded. Some succeeded (or it does not say): the
                // envelope does not name which (its errors name records by place, no confirmation of the others),
                // so every user of the request may have been erased, and is in doubt.
                let succeeded = successCount(object)
                if succeeded != 0 {
                    let which = succeeded.map { "\($0) record(s) succeeded, not named" } ?? "how many succeeded is not said"
                    reported.message = "\(problem); \(which): every user of the request may have been erased"
                    return .unconfirmed(reported)
                }
                return .failed(reported)
            }
            return JSONBody.unconfirmed(
                response, requestID: failure.requestID,
                "a \(response.status) that is not Insider One's documented success "
                    + (endpoint == .identity ? "(200, an empty body or {})" : "(200, {})"))
        // The identity endpoint's rule only: an attribute delete leaves identifiers alone, so the same words there
        // are a refusal like any other (a skip read as "by design", exit 0, erased nothing).
        case 400 where endpoint == .identity && message.contains("sole identifier"):
            return .skipped("sole identifier: Insider One refused (\(message))")
        case 400 where message.contains("Partner is invalid"):
            return .stop(failure)
        case 404 where message.contains("no such user"):
            // No user holds the identifier: the engine decides whether an earlier attempt of ours removed it.
            return .notFound(failure)
        case 403 where Self.isRequestLimit(message):
            // Insider One's throttling can come as a 403 with this text: a throttle (back off, retry), not a refusal.
            var throttled = failure
            throttled.code = AttemptFailure.rateLimited
            return .retry(throttled, after: response.retryAfterSeconds)
        case 401, 403:
            return .stop(failure)
        case 429, 500..<600:
            return .retry(failure, after: response.retryAfterSeconds)
        default:
            return .failed(failure)
        }
    }
}

extension InsiderTarget {
    /// Insider One's throttling message, exactly (any case, a final period): a 403 whose message merely mentions it
    /// is a refusal, and stops the run.
    static func isRequestLimit(_ message: String) -> Bool {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        return text == "request limit exceeded"
    }

    /// The `successful.count` of Insider One's envelope, when the body is that envelope and gives it.
    static func successCount(_ object: [String: Any]?) -> Int? {
        guard let data = object?["data"] as? [String: Any], let successful = data["successful"] as? [String: Any]
        else { return nil }
        return (successful["count"] as? NSNumber)?.intValue
    }

    /// Why a 2xx body reports failed records in Insider One's documented envelope (`{"data":{"fail":{"count":M,
    /// "errors":{...}}}}`), or nil when it does not (any other body is unconfirmed, not failed: it may have deleted).
    static func bodyFailure(_ object: [String: Any]?) -> String? {
        guard let data = object?["data"] as? [String: Any] else { return nil }
        let fail = data["fail"] as? [String: Any] ?? [:]
        let count = (fail["count"] as? NSNumber)?.intValue ?? 0
        let errors = fail["errors"] as? [String: Any] ?? [:]
        if count == 0 && errors.isEmpty { return nil }
        let listed = errors.keys.sorted().prefix(5).map { key in
            let messages = (errors[key] as? [Any])?.map { "\($0)" }.joined(separator: "; ") ?? "\(errors[key] ?? "")"
            return "\(key): \(messages)"
        }
        return "\(max(count, errors.count)) record(s) failed inside a 2xx answer: " + listed.joined(separator: " | ")
    }
}

/// A partner name Insider One would refuse.
package struct InsiderPartnerError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    package var message: String
    package var description: String { message }
}

/// sha256 of a string, hex.
enum SHA256Text {
    static func hex(_ s: String) -> String { SHA256Digest.hex(of: Array(s.utf8)) }
}
