import IDAuditCSV
import IDAuditCore
import IDAuditStore

/// Why a request could not be planned.
public enum UnresolvedReason: String, Sendable, CaseIterable, Comparable {
    /// The identifier is not active in the store (never seen, or its latest row is REMOVED).
    case notFound = "not_found"
    /// The request's segment_id belongs to another profile than the identifier.
    case profileMismatch = "profile_mismatch"
    /// Every user_id of the profile was requested; Segment refuses to remove a profile's last one, so the newest
    /// stays and addresses the others.
    case lastUserID = "last_user_id"
    /// The rules protect the identifier.
    case protected

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Options for ``RequestPlanner/run(store:options:now:)``.
public struct RequestPlanOptions: Sendable {
    /// The request CSV.
    public var requestsPath: String
    /// The folder the plan goes to.
    public var outDirectory: String
    /// Rules whose protected values are never planned (nil: none).
    public var rules: RuleSet?
    /// Where bad request lines go instead of stopping (nil: stop at the first).
    public var rejectsPath: String?

    /// Creates options.
    public init(requestsPath: String, outDirectory: String, rules: RuleSet? = nil, rejectsPath: String? = nil) {
        self.requestsPath = requestsPath
        self.outDirectory = outDirectory
        self.rules = rules
        self.rejectsPath = rejectsPath
    }
}

/// What a request plan holds.
public struct RequestPlanResult: Sendable, Equatable {
    /// Request lines read (bad lines included).
    public var requestLines = 0
    /// Bad lines written to the rejects file.
    public var rejected = 0
    /// Lines repeating an identifier already requested (planned once).
    public var duplicates = 0
    /// Plan lines written.
    public var planned = 0
    /// Of those, the ones Segment's API can carry out.
    public var remediable = 0
    /// Profiles the plan touches.
    public var profiles = 0
    /// Requests that could not be planned, per reason.
    public var unresolved: [UnresolvedReason: Int] = [:]
    /// The files written.
    public var files: [String] = []
}

/// Plans the deletion of identifiers a user lists: each is resolved against the store to its profile and the
/// user_id Segment's API needs, and written in the scan's plan format with reason `requested`, so `approve`,
/// `apply` and `verify` treat it like a scan's plan.
public enum RequestPlanner {
    /// The Delete Profile Identifier API's limit: 100 requests per second per space.
    public static let apiRequestsPerSecond = 100

    /// Resolves the requests and writes `plan.csv`, `plan.json`, `summary.json` and `unresolved.csv`.
    ///
    /// Nothing is planned until the whole request file parses (or bad lines went to the rejects file).
    public static func run(store: ProfileStore, options: RequestPlanOptions, now: Instant) throws -> RequestPlanResult {
        let (requests, rejected) = try RequestFile.read(path: options.requestsPath, rejectsPath: options.rejectsPath)
        var result = RequestPlanResult()
        result.requestLines = requests.count + rejected
        result.rejected = rejected
        var unresolved: [(DeletionRequest, UnresolvedReason)] = []

        // (type, value) order, for the store's lookups; each identifier is looked up once.
        let order = requests.indices.sorted { a, b in
            let x = requests[a]
            let y = requests[b]
            if !ByteOrder.equal(x.type, y.type) { return ByteOrder.less(x.type, y.type) }
            if !ByteOrder.equal(x.value, y.value) { return ByteOrder.less(x.value, y.value) }
            return x.line < y.line
        }
        var keys: [(type: String, value: String)] = []
        var keyOf: [Int] = []  // per position in `order`, its index in `keys`
        keyOf.reserveCapacity(order.count)
        for index in order {
            let request = requests[index]
            if let last = keys.last, ByteOrder.equal(last.type, request.type), ByteOrder.equal(last.value, request.value) {
            } else {
                keys.append((request.type, request.value))
            }
            keyOf.append(keys.count - 1)
        }
        let found = try store.activeIdentifiers(keys)
        var canonicalOfSegment: [String: String] = [:]
        var resolved: [ResolvedRequest] = []
        var plannedKey = -1
        // Every line gets an outcome; an identifier is planned once, for its first line that resolves.
        for (position, index) in order.enumerated() {
            let request = requests[index]
            let key = keyOf[position]
            if let rules = options.rules, rules.isProtected(type: request.type, value: request.value) {
                unresolved.append((request, .protected))
                continue
            }
            guard let identifier = found[key] else {
                unresolved.append((request, .notFound))
                continue
            }
            if let segment = request.segmentID {
                let canonical = try canonicalOfSegment[segment] ?? store.canonicalID(ofSegment: segment)
                canonicalOfSegment[segment] = canonical
                guard ByteOrder.equal(canonical, identifier.canonicalID) else {
                    unresolved.append((request, .profileMismatch))
                    continue
                }
            }
            if plannedKey == key {
                result.duplicates += 1
                continue
            }
            plannedKey = key
            resolved.append(ResolvedRequest(request: request, identifier: identifier))
        }
        // Plan order: profile, type, oldest first.
        resolved.sort { a, b in
            if !ByteOrder.equal(a.identifier.canonicalID, b.identifier.canonicalID) {
                return ByteOrder.less(a.identifier.canonicalID, b.identifier.canonicalID)
            }
            if !ByteOrder.equal(a.request.type, b.request.type) { return ByteOrder.less(a.request.type, b.request.type) }
            return ProfileIdentifier.oldestFirst(a.profileIdentifier, b.profileIdentifier)
        }

        try makeDirectories(options.outDirectory)
        let dir = options.outDirectory.hasSuffix("/") ? String(options.outDirectory.dropLast()) : options.outDirectory
        let csv = try OutputFile(path: dir + "/plan.csv")
        let json = try OutputFile(path: dir + "/plan.json")
        try csv.writeCSVRecord(PlanLine.csvColumns)
        try json.write("{\n\"format\":\"idaudit-plan/1\",\n\"requests_file\":\(JSONText.quote(options.requestsPath)),\n")
        try json.write("\"rules_sha256\":\"\(options.rules?.sha256 ?? "")\",\n\"generated_at\":\"\(now)\",\n\"lines\":[\n")

        // Profiles in chunks: their user_ids are read a chunk at a time, which bounds memory for huge request files.
        var start = 0
        while start < resolved.count {
            var end = start
            var profiles: [String] = []
            while end < resolved.count, profiles.count < 20_000 || resolved[end].identifier.canonicalID == profiles.last {
                if resolved[end].identifier.canonicalID != profiles.last { profiles.append(resolved[end].identifier.canonicalID) }
                end += 1
            }
            let userIDs = try store.identifiers(ofType: "user_id", onProfiles: profiles)
            var first = start
            while first < end {
                var last = first + 1
                let profile = resolved[first].identifier.canonicalID
                while last < end, resolved[last].identifier.canonicalID == profile { last += 1 }
                let lines = planProfile(
                    Array(resolved[first..<last]), userIDs: userIDs[profile] ?? [], unresolved: &unresolved)
                for (line, request) in lines {
                    try csv.write(line.csvRecord + "\n")
                    try json.write((result.planned == 0 ? "" : ",\n") + line.jsonObject(requestLine: request.line, note: request.note))
                    result.planned += 1
                    if line.remediable { result.remediable += 1 }
                }
                if !lines.isEmpty { result.profiles += 1 }
                first = last
            }
            start = end
        }
        try json.write("\n]\n}\n")

        let unresolvedFile = try OutputFile(path: dir + "/unresolved.csv")
        try unresolvedFile.writeCSVRecord(["line", "type", "value", "segment_id", "note", "reason"])
        for (request, reason) in unresolved.sorted(by: { $0.0.line < $1.0.line }) {
            try unresolvedFile.writeCSVRecord([
                String(request.line), request.type, request.value, request.segmentID ?? "", request.note ?? "",
                reason.rawValue,
            ])
            result.unresolved[reason, default: 0] += 1
        }
        try json.commit()
        try csv.commit()
        try unresolvedFile.commit()
        try OutputFile.write(summaryJSON(result, options: options, store: store.path, now: now), to: dir + "/summary.json")
        result.files = ["plan.csv", "plan.json", "unresolved.csv", "summary.json"].map { dir + "/" + $0 }
        return result
    }

    /// The plan lines of one profile's resolved requests (already oldest first within each type).
    ///
    /// The lookup user_id is the newest user_id of the profile that is not itself requested; when all are, the
    /// newest is left out of the plan (`last_user_id`) and addresses the others.
    static func planProfile(
        _ requests: [ResolvedRequest], userIDs: [ProfileIdentifier],
        unresolved: inout [(DeletionRequest, UnresolvedReason)]
    ) -> [(PlanLine, DeletionRequest)] {
        let requestedUserIDs = Set(requests.filter { $0.request.type == "user_id" }.map(\.request.value))
        var lookup = userIDs.last { !requestedUserIDs.contains($0.value) }?.value ?? ""
        var kept: String?
        if lookup.isEmpty, let newest = userIDs.last {
            lookup = newest.value
            kept = newest.value
        }
        var lines: [(PlanLine, DeletionRequest)] = []
        var rank = 0
        var previousType: String?
        for resolved in requests {
            let request = resolved.request
            let identifier = resolved.identifier
            if request.type == "user_id", request.value == kept {
                unresolved.append((request, .lastUserID))
                continue
            }
            rank = request.type == previousType ? rank + 1 : 1
            previousType = request.type
            lines.append(
                (
                    PlanLine(
                        segmentID: identifier.canonicalID, type: request.type, value: request.value, reason: .requested,
                        rank: rank, lookupUserID: lookup,
                        remediable: PlanLine.isRemediable(type: request.type, lookupUserID: lookup),
                        firstSeen: identifier.firstSeen, seq: identifier.seq),
                    request
                ))
        }
        return lines
    }

    /// "1,240,000 deletions: about 3 h 27 min at the API's limit of 100 requests/s".
    public static func costSummary(deletions: Int) -> String {
        let seconds = (deletions + apiRequestsPerSecond - 1) / apiRequestsPerSecond
        let duration: String
        if seconds < 60 {
            duration = "\(seconds) s"
        } else if seconds < 3600 {
            duration = "\(seconds / 60) min \(seconds % 60) s"
        } else {
            let minutes = (seconds + 30) / 60  // to the nearest minute
            duration = "\(minutes / 60) h \(minutes % 60) min"
        }
        return "\(grouped(deletions)) deletions: about \(duration) at the API's limit of \(apiRequestsPerSecond) requests/s"
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    static func summaryJSON(_ r: RequestPlanResult, options: RequestPlanOptions, store: String, now: Instant) -> String {
        var out = "{\n  \"format\": \"idaudit-request-summary/1\",\n  \"generated_at\": \"\(now)\",\n"
        out += "  \"store\": \(JSONText.quote(store)),\n  \"requests_file\": \(JSONText.quote(options.requestsPath)),\n"
        out += "  \"request_lines\": \(r.requestLines),\n  \"rejected\": \(r.rejected),\n"
        out += "  \"duplicates\": \(r.duplicates),\n  \"planned\": \(r.planned),\n  \"profiles\": \(r.profiles),\n"
        out += "  \"remediable\": \(r.remediable),\n  \"not_remediable\": \(r.planned - r.remediable),\n"
        out += "  \"unresolved\": {"
        out += UnresolvedReason.allCases.map { "\"\($0.rawValue)\": \(r.unresolved[$0] ?? 0)" }.joined(separator: ", ")
        out += "},\n  \"estimated_apply_seconds\": \((r.remediable + apiRequestsPerSecond - 1) / apiRequestsPerSecond),\n"
        out += "  \"estimate\": \(JSONText.quote(costSummary(deletions: r.remediable)))\n}\n"
        return out
    }
}

/// A request whose identifier is active, with where it lives.
struct ResolvedRequest {
    var request: DeletionRequest
    var identifier: ActiveIdentifier

    var profileIdentifier: ProfileIdentifier {
        ProfileIdentifier(type: request.type, value: request.value, firstSeen: identifier.firstSeen, seq: identifier.seq)
    }
}
