import Foundation
import IDAuditCSV
import IDAuditCore
import IDAuditStore

#if canImport(Glibc)
    import Glibc
#endif

/// An answer: status and JSON body (the route adds `Request-Id`).
struct Answer: Sendable {
    var status: Int
    var body: String
}

/// What the emulator has seen, for tests and benchmarks.
package struct EmulatorStatistics: Sendable, Equatable {
    /// Requests received, by status answered.
    package var byStatus: [Int: Int] = [:]
    /// Identifiers deleted through the Segment endpoint.
    package var segmentDeletions = 0
    /// Identifiers deleted through the Insider One endpoint.
    package var insiderDeletions = 0
    /// Users whose attributes were changed through Insider One's attribute endpoint.
    package var attributeUsers = 0
    /// Deletions answered with an odd 2xx (``EmulatorOptions/odd2xxRate``): nothing was deleted for them.
    package var odd2xx = 0
    /// Requests answered 429.
    package var throttled: Int { byStatus[429] ?? 0 }
    /// Requests in all.
    package var requests: Int { byStatus.values.reduce(0, +) }
}

/// The emulator's state: the store it serves, deletions not yet written to it, budgets, faults and statistics.
///
/// An actor: requests are answered one at a time against the store, as a consistent view.
actor EmulatorState {
    private let store: ProfileStore
    private let options: EmulatorOptions
    private var spaceBuckets: BucketSet
    private var profileBuckets: BucketSet
    private var identityBuckets: BucketSet
    private var attributeBuckets: BucketSet
    private var random: SeededRandom
    private var statistics = EmulatorStatistics()

    /// Segment deletions not yet written to the store: keys and the REMOVED rows to write.
    private var pendingKeys: Set<String> = []
    private var pendingByProfile: [String: [String: Int]] = [:]
    private var pendingRows: [(segmentID: String, type: String, value: String, seq: Int64)] = []
    /// Every identifier deleted through the Segment endpoint in this emulator's life, by profile: Insider One's copy
    /// of the profiles still holds them (Segment's deletion does not reach destinations).
    private var segmentDeleted: Set<String> = []
    private var segmentDeletedByProfile: [String: [(type: String, value: String)]] = [:]
    /// Insider One's deletions (its copy of the profiles; never written to the Segment store).
    private var insiderDeleted: Set<String> = []
    private var insiderDeletedByProfile: [String: Int] = [:]
    private var rowCounter = 0
    /// Insider One's user attributes, by user key (see ``userKey(identifiers:)``).
    private var attributes: [String: [String: Any]] = [:]

    init(store: ProfileStore, options: EmulatorOptions) {
        self.store = store
        self.options = options
        spaceBuckets = BucketSet(rate: options.segmentPerSpace, capacity: max(1, options.segmentPerSpace))
        profileBuckets = BucketSet(rate: options.segmentPerProfile, capacity: max(1, options.segmentPerProfile))
        // Per endpoint, as Insider One counts them; a burst of at most one second's worth.
        identityBuckets = BucketSet(
            rate: options.insiderIdentityPerMinute / 60, capacity: max(1, options.insiderIdentityPerMinute / 60))
        attributeBuckets = BucketSet(
            rate: options.insiderAttributePerMinute / 60, capacity: max(1, options.insiderAttributePerMinute / 60))
        random = SeededRandom(state: options.seed)
    }

    private var usersLoaded = false

    /// Loads ``EmulatorOptions/insiderUsers`` on first use (keys need the store).
    private func loadUsers() {
        guard !usersLoaded else { return }
        usersLoaded = true
        for line in options.insiderUsers {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                let ids = object["identifiers"] as? [String: Any], let pairs = identifiers(ids),
                let key = userKey(pairs)
            else { continue }
            attributes[key] = object["attributes"] as? [String: Any] ?? [:]
        }
    }

    /// A user's key: the canonical profile of its first identifier active in the store, else the identifier.
    private func userKey(_ pairs: [(type: String, value: String)]) -> String? {
        for (type, value) in pairs {
            if let user = insiderUser(type: type, value: value) { return user }
        }
        return pairs.first.map { "insider:" + Self.key($0.type, $0.value) }
    }

    /// A user's attributes as sorted JSON (tests), by one of its identifiers.
    func attributesJSON(type: String, value: String) -> String? {
        loadUsers()
        guard let key = userKey([(type, value)]), let found = attributes[key],
            let data = try? JSONSerialization.data(withJSONObject: found, options: [.sortedKeys])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func snapshot() -> EmulatorStatistics { statistics }

    private func answer(_ status: Int, _ body: String) -> Answer {
        statistics.byStatus[status, default: 0] += 1
        return Answer(status: status, body: body)
    }

    private static func key(_ type: String, _ value: String) -> String { type + "\u{0}" + value }

    private func injectFault() -> Bool {
        options.failRate > 0 && Double.random(in: 0..<1, using: &random) < options.failRate
    }

    /// A 2xx that is not the platform's documented success, in turn one of the shapes seen lying in a 200, or nil.
    private func injectOdd2xx(_ shapes: [String]) -> Answer? {
        guard options.odd2xxRate > 0, Double.random(in: 0..<1, using: &random) < options.odd2xxRate else { return nil }
        statistics.odd2xx += 1
        return answer(200, shapes[statistics.odd2xx % shapes.count])
    }

    /// Segment: an error list, an empty body, a page, another envelope.
    static let oddSegment2xx = [
        "{\"errors\":[{\"message\":\"not deleted\"}]}", "", "<html><body>OK</body></html>", "{\"data\":{}}",
    ]

    /// Insider One: an error list, a status field, a failure counted in text.
    static let oddInsider2xx = [
        "{\"errors\":[{\"message\":\"not deleted\"}]}", "{\"status\":\"error\"}",
        "{\"data\":{\"successful\":{\"count\":1},\"fail\":{\"count\":\"1\"}}}",
    ]

    private func injectThrottle() -> Bool {
        options.throttleRate > 0 && Double.random(in: 0..<1, using: &random) < options.throttleRate
    }

    // MARK: - Segment: Delete Profile Identifier API

    private func segmentError(_ status: Int, _ code: String, _ message: String) -> Answer {
        answer(status, "{\"error\":{\"code\":\"\(code)\",\"message\":\(JSONText.quote(message))}}")
    }

    /// `POST /v1/spaces/{space}/collections/{collection}/profiles/{lookup}/external_ids/delete`.
    func segmentDelete(
        space: String, collection: String, lookup rawLookup: String, authorization: String?, body: [UInt8]
    )
        -> Answer
    {
        guard let authorization, authorization.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6))),
            String(decoding: decoded, as: UTF8.self) == options.token + ":"
        else {
            return segmentError(401, "unauthorized", "The specified token is invalid.")
        }
        guard collection == "users" else {
            return segmentError(400, "bad_request", "Invalid collection: `\(collection)`.")
        }
        guard let lookup = PercentDecoding.decode(rawLookup), let colon = lookup.firstIndex(of: ":"),
            lookup.index(after: colon) < lookup.endIndex
        else {
            return segmentError(400, "bad_request", "Missing required parameters in URL.")
        }
        let lookupType = String(lookup[..<colon])
        let lookupValue = String(lookup[lookup.index(after: colon)...])
        guard lookupType == "user_id" else {
            return segmentError(
                400, "bad_request", "Invalid URL: valid `user_id` is required. Unsupported `\(lookupType)`.")
        }
        guard !options.deactivatedSpaces.contains(space) else {
            return segmentError(403, "forbidden", "Deleted identifier not activated for space_id `\(space)`.")
        }
        let now = ContinuousClock().now
        guard !injectThrottle(), spaceBuckets.take(space, now: now) else {
            return segmentError(
                429, "rate_limit_error",
                "Attempted to delete more than \(Int(options.segmentPerSpace)) IDs per second for space_id `\(space)`.")
        }
        if injectFault() {
            return segmentError(500, "internal_error", "An internal error occurred.")
        }
        if let odd = injectOdd2xx(Self.oddSegment2xx) { return odd }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let list = object["delete_external_ids"] as? [Any]
        else {
            return segmentError(400, "bad_request", "Missing required parameters in URL.")
        }
        guard list.count == 1, let item = list[0] as? [String: Any], let id = item["id"] as? String,
            let type = item["type"] as? String
        else {
            return segmentError(400, "bad_request", "Only one external_id can be deleted at a time.")
        }
        guard type != "group_id" else {
            return segmentError(400, "unsupported_eid_type", "Unsupported external id type.")
        }
        guard let profile = activeCanonical(type: "user_id", value: lookupValue) else {
            return segmentError(404, "not_found", "The resource was not found.")
        }
        if type == "user_id" && id == lookupValue {
            return segmentError(400, "bad_request", "External id specification must differ from lookup id.")
        }
        guard profileBuckets.take(profile, now: now) else {
            return segmentError(
                429, "rate_limit_error", "Attempted to delete more than 100 IDs per second for a single profile.")
        }
        guard let record = try? store.identifier(type: type, value: id), record.active,
            record.canonicalID == profile, !pendingKeys.contains(Self.key(type, id))
        else {
            return segmentError(404, "eid_not_found", "External identifier not found.")
        }
        if type == "user_id" {
            let stored = (try? store.identifiers(ofType: "user_id", onProfiles: [profile]))?[profile]?.count ?? 0
            if stored - (pendingByProfile[profile]?["user_id"] ?? 0) <= 1 {
                return segmentError(400, "bad_request", "Profiles must have at least one user_id.")
            }
        }
        pendingKeys.insert(Self.key(type, id))
        pendingByProfile[profile, default: [:]][type, default: 0] += 1
        segmentDeleted.insert(Self.key(type, id))
        segmentDeletedByProfile[profile, default: []].append((type, id))
        pendingRows.append((record.segmentID, type, id, (record.history.map(\.seq).max() ?? 0) + 1))
        statistics.segmentDeletions += 1
        return answer(200, "{\"code\":\"success\",\"message\":\"External identifier has been deleted.\"}")
    }

    /// The canonical profile of an active identifier, counting deletions not yet written.
    private func activeCanonical(type: String, value: String) -> String? {
        guard !pendingKeys.contains(Self.key(type, value)),
            let record = try? store.identifier(type: type, value: value), record.active
        else { return nil }
        return record.canonicalID
    }

    /// Writes pending deletions to the store as REMOVED rows of `external_id_mapping_updates`, as Profiles Sync
    /// would, through the ingest path (one transaction; the profiles become dirty for the next scan).
    func flush() throws {
        guard options.writeToStore, !pendingRows.isEmpty else { return }
        let folder = store.path + ".emulator-\(getpid())"
        try makeDirectories(folder)
        defer {
            unlink(folder + "/id_graph_updates.csv")
            unlink(folder + "/external_id_mapping_updates.csv")
            rmdir(folder)
        }
        let graph = try OutputFile(path: folder + "/id_graph_updates.csv")
        try graph.writeCSVRecord(["segment_id", "canonical_segment_id", "seq", "timestamp"])
        try graph.commit()
        let mapping = try OutputFile(path: folder + "/external_id_mapping_updates.csv")
        try mapping.writeCSVRecord([
            "id", "segment_id", "external_id_type", "external_id_value", "seq", "timestamp", "__operation",
        ])
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let now = Instant(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
        for row in pendingRows {
            rowCounter += 1
            try mapping.writeCSVRecord([
                "emu-removed-\(now.microseconds)-\(rowCounter)", row.segmentID, row.type, row.value, String(row.seq),
                now.description, "REMOVED",
            ])
        }
        try mapping.commit()
        _ = try store.ingest(
            graphPath: folder + "/id_graph_updates.csv", mappingPath: folder + "/external_id_mapping_updates.csv")
        pendingRows.removeAll()
        pendingKeys.removeAll()
        pendingByProfile.removeAll()
    }

    // MARK: - Insider One

    private func insiderError(_ status: Int, _ body: String) -> Answer { answer(status, body) }

    /// Insider One's endpoints with a budget of their own.
    enum InsiderEndpoint { case identity, attribute }

    /// Checks Insider One's headers and the endpoint's budget; nil when the request may go on.
    private func insiderGate(partner: String?, token: String?, endpoint: InsiderEndpoint) -> Answer? {
        guard let partner, !partner.isEmpty, partner == partner.lowercased(), !partner.contains(where: \.isWhitespace)
        else {
            return insiderError(400, "{\"success\":false,\"message\":\"Partner is invalid.\"}")
        }
        guard token == options.token else {
            return insiderError(
                403,
                "{\"success\":false,\"message\":\"Access Denied. You do not have sufficient access to perform this action.\"}"
            )
        }
        let now = ContinuousClock().now
        let within =
            switch endpoint {
            case .identity: identityBuckets.take(partner, now: now)
            case .attribute: attributeBuckets.take(partner, now: now)
            }
        guard !injectThrottle(), within else {
            return options.insiderThrottleAs403
                ? insiderError(403, "{\"success\":false,\"message\":\"Request Limit Exceeded\"}")
                : insiderError(429, "{\"error\":\"rejected: too many requests\"}")
        }
        if injectFault() {
            return insiderError(
                500,
                "{\"success\":false,\"message\":\"The request processing has failed because of an unknown error.\"}")
        }
        if let odd = injectOdd2xx(Self.oddInsider2xx) { return odd }
        return nil
    }

    /// The (plan type, value) pairs of an Insider One `identifiers` object.
    private func identifiers(_ object: [String: Any]) -> [(type: String, value: String)]? {
        var out: [(String, String)] = []
        for (key, value) in object {
            switch key {
            case "email", "phone_number", "uuid":
                guard let text = value as? String else { return nil }
                let k: InsiderTypeMap.Key = key == "email" ? .email : key == "uuid" ? .uuid : .phoneNumber
                out.append((options.typeMap.planType(forKey: k), text))
            case "custom":
                guard let custom = value as? [String: Any] else { return nil }
                for (name, v) in custom {
                    guard let text = v as? String else { return nil }
                    out.append((options.typeMap.planType(forKey: .custom(name)), text))
                }
            default:
                return nil
            }
        }
        return out
    }

    /// The Insider user (canonical profile) an identifier addresses: active in the store, or deleted at Segment by
    /// this emulator (Insider One's copy keeps it), and not deleted at Insider One.
    private func insiderUser(type: String, value: String) -> String? {
        let key = Self.key(type, value)
        guard !insiderDeleted.contains(key), let record = try? store.identifier(type: type, value: value),
            record.active || segmentDeleted.contains(key)
        else { return nil }
        return record.canonicalID
    }

    /// How many identifiers Insider One's copy of a user holds (types the type map sends).
    private func insiderIdentifierCount(user: String) -> Int {
        let counts = (try? store.activeTypeCounts(onProfiles: [user]))?[user] ?? [:]
        var held = counts.reduce(0) { $0 + (options.typeMap.key(for: $1.key) == .skip ? 0 : $1.value) }
        // Deleted at Segment and already written to the store as REMOVED: still there at Insider One.
        for (type, value) in segmentDeletedByProfile[user] ?? [] where options.typeMap.key(for: type) != .skip {
            if let record = try? store.identifier(type: type, value: value), !record.active { held += 1 }
        }
        return held - (insiderDeletedByProfile[user] ?? 0)
    }

    /// `DELETE /api/user/v1/identity`.
    func insiderDeleteIdentity(partner: String?, token: String?, body: [UInt8]) -> Answer {
        if let refusal = insiderGate(partner: partner, token: token, endpoint: .identity) { return refusal }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let ids = object["identifiers"] as? [String: Any], let pairs = identifiers(ids), pairs.count == 1
        else {
            return insiderError(400, "{\"error\":\"there must be exactly 1 identifier: bad request\"}")
        }
        let (type, value) = pairs[0]
        guard let user = insiderUser(type: type, value: value) else {
            return insiderError(404, "{\"error\":\"no such user for these identifiers: no data\"}")
        }
        if insiderIdentifierCount(user: user) <= 1 {
            return insiderError(
                400, "{\"error\":\"you cannot delete the sole identifier specified for a user: bad request\"}")
        }
        insiderDeleted.insert(Self.key(type, value))
        insiderDeletedByProfile[user, default: 0] += 1
        statistics.insiderDeletions += 1
        return answer(200, "{}")
    }

    /// `POST /api/user/v1/attribute/delete`.
    func insiderDeleteAttributes(partner: String?, token: String?, body: [UInt8]) -> Answer {
        if let refusal = insiderGate(partner: partner, token: token, endpoint: .attribute) { return refusal }
        loadUsers()
        guard body.count <= 5_000_000 else {
            return insiderError(413, "{\"success\":false,\"message\":\"The entire request must not exceed 5 MB.\"}")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let users = object["users"] as? [[String: Any]], !users.isEmpty
        else {
            return insiderError(400, "{\"success\":false,\"message\":\"users is required.\"}")
        }
        guard users.count <= 1000 else {
            return insiderError(
                400, "{\"success\":false,\"message\":\"A single request can include a maximum of 1,000 users.\"}")
        }
        var changes: [(String, [String: Any])] = []
        var failed: [String] = []
        for (index, user) in users.enumerated() {
            // Insider One validates each record and reports failures inside a 200 (the Upsert API's documented
            // shape, domain notes §5): an email that is not one fails its record only.
            if let ids = user["identifiers"] as? [String: Any], let email = ids["email"] as? String,
                !Self.looksLikeEmail(email)
            {
                failed.append(
                    JSONText.quote("users.\(index).identifiers.*.regexp(^.+@.+\\..+$)") + ":["
                        + JSONText.quote("not a valid email address: \(email)") + "]")
                continue
            }
            var key: String?
            if let id = user["insider_id"] as? String {
                key = id
            } else if let ids = user["identifiers"] as? [String: Any], let pairs = identifiers(ids) {
                key = userKey(pairs)
            }
            guard let key else {
                return insiderError(
                    400, "{\"success\":false,\"message\":\"either insider_id or identifiers must be specified\"}")
            }
            let whole = user["whole"] as? [String] ?? []
            let partial = user["partial"] as? [String: [Any]] ?? [:]
            if whole.contains(where: { ["email", "phone_number", "uuid"].contains($0) })
                || partial.keys.contains(where: { ["email", "phone_number", "uuid"].contains($0) })
            {
                return insiderError(
                    400,
                    "{\"success\":false,\"message\":\"Identifier attributes cannot be deleted with this endpoint.\"}")
            }
            var record = attributes[key] ?? [:]
            Self.remove(&record, whole: whole, partial: partial)
            if let custom = user["custom"] as? [String: Any] {
                var nested = record["custom"] as? [String: Any] ?? [:]
                Self.remove(
                    &nested, whole: custom["whole"] as? [String] ?? [],
                    partial: custom["partial"] as? [String: [Any]] ?? [:])
                record["custom"] = nested
            }
            changes.append((key, record))
        }
        for (key, record) in changes where attributes[key] != nil { attributes[key] = record }
        statistics.attributeUsers += changes.count
        guard !failed.isEmpty else { return answer(200, "{}") }
        return answer(
            200,
            "{\"data\":{\"successful\":{\"count\":\(changes.count)},\"fail\":{\"count\":\(failed.count),"
                + "\"errors\":{" + failed.joined(separator: ",") + "}}}}")
    }

    /// `^.+@.+\..+$`, the check Insider One applies to an email.
    static func looksLikeEmail(_ text: String) -> Bool {
        guard let at = text.firstIndex(of: "@"), at > text.startIndex else { return false }
        let domain = text[text.index(after: at)...]
        guard let dot = domain.lastIndex(of: "."), dot > domain.startIndex else { return false }
        return domain.index(after: dot) < domain.endIndex
    }

    /// Whole: the attributes go; partial: the listed values leave array attributes.
    private static func remove(_ record: inout [String: Any], whole: [String], partial: [String: [Any]]) {
        for name in whole { record[name] = nil }
        for (name, values) in partial {
            guard let current = record[name] as? [Any] else { continue }
            let drop = Set(values.map { "\($0)" })
            record[name] = current.filter { !drop.contains("\($0)") }
        }
    }
}

/// `%XX` decoding of a path segment.
enum PercentDecoding {
    static func decode(_ text: some StringProtocol) -> String? {
        var bytes: [UInt8] = []
        var it = Array(text.utf8)[...]
        while let b = it.popFirst() {
            guard b == UInt8(ascii: "%") else {
                bytes.append(b)
                continue
            }
            guard it.count >= 2, let hi = hex(it.removeFirst()), let lo = hex(it.removeFirst()) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
