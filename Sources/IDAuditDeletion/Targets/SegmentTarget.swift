import Foundation
import IDAuditCore

/// Segment's Delete Profile Identifier API (domain notes §2b; seeds 000 and 001).
///
/// `POST {base}/v1/spaces/{space}/collections/users/profiles/user_id:{lookup}/external_ids/delete` with
/// `{"delete_external_ids":[{"id":"<value>","type":"<type>"}]}`: one identifier per request, the profile addressed
/// by a user_id, HTTP Basic with the token as user and an empty password, 100 requests/s per space and 100 deletions/s
/// per profile.
package struct SegmentTarget: DeletionTarget {
    /// Segment's regional hosts.
    package enum Region: String, Sendable, CaseIterable {
        case us, eu

        /// The Profile API host of the region.
        package var baseURL: String {
            switch self {
            case .us: "https://profiles.segment.com"
            case .eu: "https://profiles.euw1.segment.com"
            }
        }
    }

    /// The space id (`spa_...`): not a secret.
    package var space: String
    /// Scheme and host, without a trailing slash.
    package var baseURL: String
    private let authorization: String
    private let token: String

    /// Creates the adapter for one space.
    package init(space: String, baseURL: String, token: Secret) {
        self.space = space
        self.baseURL = URLText.withoutTrailingSlashes(baseURL)
        authorization = "Basic " + Data((token.value + ":").utf8).base64EncodedString()
        self.token = token.value
    }

    package var name: String { "segment" }
    package var secretValues: [String] {
        [authorization, String(authorization.dropFirst("Basic ".count)), token]
    }
    /// `segment/<endpoint>/<space>`: a rehearsal against the emulator and the real apply are journaled apart.
    package var destination: String { Self.destination(space: space, baseURL: baseURL).key }

    /// The destination a plan for `space` at `baseURL` is approved and journaled under (no token needed): the whole
    /// endpoint (``Endpoint``), so an approval for a staging gateway's path never applies to the host's root.
    package static func destination(space: String, baseURL: String) -> ApprovedDestination {
        let endpoint = Endpoint(baseURL)
        return ApprovedDestination(
            key: "segment/\(endpoint.key)/\(URLText.encodeSegment(space))",
            details: ["target": "segment", "endpoint": endpoint.description, "space": space])
    }
    /// The message of Segment's documented success (domain notes §2b).
    static let deletedMessage = "External identifier has been deleted."

    package var defaultRequestsPerSecond: Double { 100 }
    package var perProfileRequestsPerSecond: Double? { 100 }

    package func profileKey(_ entry: PlanEntry) -> String { entry.lookupUserID }

    package func prepare(_ entry: PlanEntry) -> Preparation {
        if entry.type == "group_id" {
            return .skip("group_id: Segment's API does not delete group_id identifiers")
        }
        guard entry.remediable, !entry.lookupUserID.isEmpty else {
            return .skip("not remediable: the profile has no user_id to address it by")
        }
        if entry.type == "user_id" && entry.value == entry.lookupUserID {
            return .skip("the value is the profile's lookup user_id (Segment: External id specification must differ from lookup id.)")
        }
        let url =
            baseURL + "/v1/spaces/" + URLText.encodeSegment(space) + "/collections/users/profiles/user_id:"
            + URLText.encodeSegment(entry.lookupUserID) + "/external_ids/delete"
        let body =
            "{\"delete_external_ids\":[{\"id\":" + JSONText.quote(entry.value) + ",\"type\":"
            + JSONText.quote(entry.type) + "}]}"
        return .send(
            WireRequest(
                method: "POST", url: url,
                headers: [
                    ("Authorization", authorization), ("Content-Type", "application/json"),
                    ("User-Agent", "idaudit"),
                ],
                body: Array(body.utf8)))
    }

    package func classify(_ response: WireResponse) -> AttemptResult {
        let error = JSONBody.object(response.body)?["error"] as? [String: Any]
        let failure = AttemptFailure(
            status: response.status, code: error?["code"] as? String ?? "",
            message: error?["message"] as? String ?? String(decoding: response.body.prefix(200), as: UTF8.self),
            requestID: response.header("Request-Id") ?? "")
        switch response.status {
        case 200..<300:
            // Done only for a 200 whose body is exactly Segment's success (its response table: 200, code `success`,
            // "External identifier has been deleted."); any other 2xx (a 202 accepted, a proxy's page, an error in
            // a 200, `{"errors":[...]}`, an empty body, extra keys) is unconfirmed, never inferred to be a deletion.
            if response.status == 200, JSONBody.isExactly(response.body, ["code": "success", "message": Self.deletedMessage]) {
                return .done(alreadyAbsent: false)
            }
            return JSONBody.unconfirmed(
                response, requestID: failure.requestID,
                "a \(response.status) that is not Segment's success (200, exactly {\"code\":\"success\",\"message\":"
                    + "\"\(Self.deletedMessage)\"})")
        case 404 where failure.code == "eid_not_found":
            // The engine decides what this means: gone through an earlier attempt of ours, or never there.
            return .notFound(failure)
        case 401, 403:
            return .stop(failure)
        case 429, 500..<600:
            return .retry(failure, after: response.retryAfterSeconds)
        default:
            return .failed(failure)
        }
    }
}
