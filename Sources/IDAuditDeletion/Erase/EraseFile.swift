import Foundation
import IDAuditCSV
import IDAuditCore

/// One user of an erase file: one element of the `users` array of Insider One's Delete User Attribute API.
package struct EraseUser: Sendable, Equatable {
    /// The 1-based line in the file.
    package var line: Int
    /// The user object, exactly as written on its line (trimmed).
    package var json: String

    /// Creates a user.
    package init(line: Int, json: String) {
        self.line = line
        self.json = json
    }
}

/// A bad erase line: `file:line: what is wrong`.
package typealias EraseFileError = FileLineError

/// Reads and checks an erase file (JSONL, one user object per line, in the shape of one element of the seed's
/// `users` array), then batches it for `POST /api/user/v1/attribute/delete`.
///
/// Each line: `identifiers` (`email`, `phone_number` in E.164, `uuid`, `custom`: {name: value}) or `insider_id`;
/// and something to delete: `whole` (attribute names), `partial` ({name: [values]}), `custom` ({whole, partial}
/// for custom attributes). Identifier attributes cannot be deleted by this API: a line that names one is refused,
/// pointing to identifier deletion. Nothing is sent unless every line is good.
package enum EraseFile {
    /// Insider One's request limits for attribute deletion.
    package static let maxUsersPerRequest = 1000
    /// 5 MB, the most one request may weigh.
    package static let maxRequestBytes = 5_000_000

    /// The default identifier attributes.
    static let identifierAttributes: Set<String> = ["email", "phone_number", "uuid"]

    /// Reads every line; throws at the first bad one.
    package static func read(path: String, customIdentifiers: Set<String> = []) throws(EraseFileError)
        -> (sha256: String, users: [EraseUser])
    {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path: path)
        } catch {
            throw EraseFileError(file: path, line: 0, message: error.message)
        }
        return try parse(bytes: bytes, path: path, customIdentifiers: customIdentifiers)
    }

    /// Checks an erase file's bytes: the sha256 an approval names and the users sent come from the same bytes.
    package static func parse(bytes data: [UInt8], path: String, customIdentifiers: Set<String> = [])
        throws(EraseFileError) -> (sha256: String, users: [EraseUser])
    {
        let sha = SHA256Digest.hex(of: data)
        var users: [EraseUser] = []
        let text = String(decoding: data, as: UTF8.self)
        // Split on LF as a scalar: a CRLF is one Character in Swift, which splitting by Character never cuts.
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        for (index, raw) in lines.enumerated() {
            let line = index + 1
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            do {
                try check(trimmed, customIdentifiers: customIdentifiers)
            } catch let message as Problem {
                throw EraseFileError(file: path, line: line, message: message.text)
            } catch {
                throw EraseFileError(file: path, line: line, message: "\(error)")
            }
            if envelopeBytes + trimmed.utf8.count > maxRequestBytes {
                throw EraseFileError(
                    file: path, line: line, message: "this user alone weighs more than Insider One's 5 MB request limit"
                )
            }
            users.append(EraseUser(line: line, json: trimmed))
        }
        guard !users.isEmpty else { throw EraseFileError(file: path, line: 0, message: "no users: the file is empty") }
        return (sha, users)
    }

    struct Problem: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    private static func check(_ line: String, customIdentifiers: Set<String>) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw Problem("not a JSON object on one line")
        }
        let allowed: Set<String> = ["identifiers", "insider_id", "whole", "partial", "custom"]
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Problem("unknown field \"\(unknown)\"; expected identifiers or insider_id, whole, partial, custom")
        }
        var lineCustomIdentifiers = customIdentifiers
        switch (object["identifiers"], object["insider_id"]) {
        case (nil, nil): throw Problem("no identifiers and no insider_id: Insider One cannot find the user")
        case (.some, .some): throw Problem("both identifiers and insider_id: give one")
        case (nil, .some(let id)):
            guard let id = id as? String, !id.isEmpty else { throw Problem("insider_id must be a non-empty string") }
        case (.some(let ids), nil):
            guard let ids = ids as? [String: Any], !ids.isEmpty else {
                throw Problem("identifiers must be an object with email, phone_number, uuid or custom")
            }
            for (key, value) in ids {
                switch key {
                case "email", "uuid":
                    guard let v = value as? String, !v.isEmpty else {
                        throw Problem("identifiers.\(key) must be a non-empty string")
                    }
                case "phone_number":
                    guard let v = value as? String, InsiderTarget.isE164(v) else {
                        throw Problem("identifiers.phone_number must be in E.164 (+6598765432)")
                    }
                case "custom":
                    guard let custom = value as? [String: Any], !custom.isEmpty,
                        custom.values.allSatisfy({ ($0 as? String)?.isEmpty == false })
                    else { throw Problem("identifiers.custom must map names to non-empty strings") }
                    lineCustomIdentifiers.formUnion(custom.keys)
                default:
                    throw Problem("unknown identifier \"\(key)\"; expected email, phone_number, uuid or custom")
                }
            }
        }
        var deletes = 0
        deletes += try names(object["whole"], field: "whole", refused: identifierAttributes)
        deletes += try partial(object["partial"], field: "partial", refused: identifierAttributes)
        if let custom = object["custom"] {
            guard let custom = custom as? [String: Any] else {
                throw Problem("custom must be an object with whole and partial")
            }
            if let unknown = custom.keys.sorted().first(where: { $0 != "whole" && $0 != "partial" }) {
                throw Problem("unknown field custom.\(unknown); expected custom.whole or custom.partial")
            }
            deletes += try names(custom["whole"], field: "custom.whole", refused: lineCustomIdentifiers)
            deletes += try partial(custom["partial"], field: "custom.partial", refused: lineCustomIdentifiers)
        }
        guard deletes > 0 else { throw Problem("nothing to delete: give whole, partial or custom") }
    }

    private static func refuse(_ name: String, _ field: String) -> Problem {
        Problem(
            "\(field) names \"\(name)\", an identifier attribute: this API cannot delete identifiers; use "
                + "`idaudit apply --target insider` (Insider One's Delete Identifiers API)")
    }

    private static func names(_ value: Any?, field: String, refused: Set<String>) throws -> Int {
        guard let value else { return 0 }
        guard let list = value as? [Any], list.allSatisfy({ ($0 as? String)?.isEmpty == false }) else {
            throw Problem("\(field) must be an array of attribute names")
        }
        for case let name as String in list where refused.contains(name) { throw refuse(name, field) }
        return list.count
    }

    private static func partial(_ value: Any?, field: String, refused: Set<String>) throws -> Int {
        guard let value else { return 0 }
        guard let map = value as? [String: Any], map.values.allSatisfy({ $0 is [Any] }) else {
            throw Problem("\(field) must map attribute names to arrays of values")
        }
        if let name = map.keys.sorted().first(where: { refused.contains($0) }) { throw refuse(name, field) }
        return map.count
    }

    /// `{"users":[` + `]}`.
    static let envelopeBytes = 12

    /// Splits users into requests of at most `maxUsers` users and `maxBytes` bytes of body, in file order.
    package static func batches(
        _ users: [EraseUser], maxUsers: Int = maxUsersPerRequest, maxBytes: Int = maxRequestBytes
    )
        -> [[EraseUser]]
    {
        var out: [[EraseUser]] = []
        var current: [EraseUser] = []
        var bytes = envelopeBytes
        for user in users {
            let size = user.json.utf8.count + (current.isEmpty ? 0 : 1)
            if !current.isEmpty && (current.count == maxUsers || bytes + size > maxBytes) {
                out.append(current)
                current = []
                bytes = envelopeBytes
            }
            bytes += user.json.utf8.count + (current.isEmpty ? 0 : 1)
            current.append(user)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// A request body: `{"users":[...]}`.
    package static func body(_ batch: [EraseUser]) -> String {
        "{\"users\":[" + batch.map(\.json).joined(separator: ",") + "]}"
    }

    /// The batches as a plan the engine applies: one entry per request, keyed by the file's sha256 and its first
    /// user's line in the file, and covering its other users' lines: the journal records every user, so a resumed
    /// run is keyed by user, never by a batch index that another batching would shift.
    package static func plan(path: String, sha256: String, batches: [[EraseUser]]) -> PlanFile {
        PlanFile(
            path: path, sha256: sha256,
            entries: batches.map { batch in
                var entry = PlanEntry(
                    line: batch.first!.line, segmentID: "", type: "attributes", value: body(batch),
                    reason: "lines \(batch.first!.line)-\(batch.last!.line)", lookupUserID: "", remediable: true)
                entry.covers = batch.dropFirst().map(\.line)
                return entry
            })
    }

    /// The batches of a resumed run, from the journal's `states` (by file line), so that a run resumed with another
    /// batching never sends a done user again, and a request is sorted by its first user's state alone (the run's
    /// line feed) only where every user in it shares that state's fate: users to send (never sent, in flight at a
    /// crash, failed or unconfirmed when `retryFailed` or `retryUnconfirmed` asks) are batched together; users done,
    /// failed, unconfirmed or not there, not to be sent again, are batched by state, so the report still counts them
    /// (in requests of this run's size). Batches are in file order of their first user.
    package static func resumedBatches(
        _ users: [EraseUser], states: [Int: LineState], maxUsers: Int = maxUsersPerRequest, retryFailed: Bool,
        retryUnconfirmed: Bool
    ) -> [[EraseUser]] {
        var groups: [String: [EraseUser]] = [:]
        for user in users {
            let group: String
            switch states[user.line]?.state {
            case .done: group = "done"
            case .failed where !retryFailed: group = "failed"
            case .unconfirmed where !retryUnconfirmed: group = "unconfirmed"
            case .absentBeforeApply: group = "absent"
            default: group = "send"
            }
            // Users an attempt of ours may have erased never share a request with users none can have: a not-found
            // answers for the whole request, and means "ours" for the first and "nothing erased" for the others.
            groups[group + (states[user.line]?.uncertain == true ? "/uncertain" : ""), default: []].append(user)
        }
        return groups.values.flatMap { batches($0, maxUsers: maxUsers) }.sorted { $0[0].line < $1[0].line }
    }
}

/// Insider One's Delete User Attribute API: `POST {base}/api/user/v1/attribute/delete`, one batch per request.
///
/// Its budget, 25,000 requests/min, is shared with the User Upsert API.
package struct InsiderAttributeTarget: DeletionTarget {
    private let identity: InsiderTarget
    private let partner: String

    /// Creates the adapter (the partner name is checked as for identifier deletion).
    package init(partner: String, baseURL: String = InsiderTarget.defaultBaseURL, token: Secret)
        throws(InsiderPartnerError)
    {
        identity = try InsiderTarget(partner: partner, baseURL: baseURL, token: token)
        self.partner = partner
    }

    package var name: String { "insider-attributes" }
    package var secretValues: [String] { identity.secretValues }
    package var destination: String { Self.destination(partner: partner, baseURL: identity.baseURL).key }

    /// The destination an erase file for `partner` at `baseURL` is approved and journaled under.
    package static func destination(partner: String, baseURL: String) -> ApprovedDestination {
        var destination = InsiderTarget.destination(partner: partner, baseURL: baseURL, typeMap: InsiderTypeMap())
        destination.key = "insider-attributes/" + destination.key.dropFirst("insider/".count)
        destination.details["target"] = "insider-attributes"
        return destination
    }
    /// 25,000 requests/min, shared with the User Upsert API (seed 004; domain notes §5).
    package static let requestsPerMinute = 25_000.0
    package var defaultRequestsPerSecond: Double { Self.requestsPerMinute / 60 }
    package var perProfileRequestsPerSecond: Double? { nil }
    package func profileKey(_ entry: PlanEntry) -> String { "" }

    package func prepare(_ entry: PlanEntry) -> Preparation {
        guard
            case .send(let template) = identity.prepare(
                PlanEntry(
                    line: 0, segmentID: "", type: "email", value: "x", reason: "", lookupUserID: "", remediable: true))
        else { return .skip("cannot build the request") }
        return .send(
            WireRequest(
                method: "POST", url: identity.baseURL + "/api/user/v1/attribute/delete", headers: template.headers,
                body: Array(entry.value.utf8)))
    }

    package func classify(_ response: WireResponse) -> AttemptResult {
        InsiderTarget.classifyInsider(response, endpoint: .attribute)
    }
}
