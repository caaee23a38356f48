import Dispatch
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
        var (requests, rejected) = try RequestFile.read(path: options.requestsPath, rejectsPath: options.rejectsPath)
        try store.limitPageCache(mebibytes: 16)
        var result = RequestPlanResult()
        result.requestLines = requests.count + rejected
        result.rejected = rejected
        var unresolved: [(DeletionRequest, UnresolvedReason)] = []

        // (type, value, line) order, for the store's lookups: each identifier is looked up once.
        var keys = RecordBuilder()
        var offsets: [Int] = []
        offsets.reserveCapacity(requests.count)
        for request in requests {
            offsets.append(keys.count)
            keys.text(request.type)
            keys.text(request.value)
            keys.int64(Int64(request.line))
        }
        let order = sortedRecordIndices(keys, offsets: offsets) { a, b in
            var x = RecordReader(a)
            var y = RecordReader(b)
            var c = compareBytes(x.text(), y.text())
            if c != 0 { return c < 0 }
            c = compareBytes(x.text(), y.text())
            if c != 0 { return c < 0 }
            return x.int64() < y.int64()
        }
        // Runs of the same identifier in `order`: the first position of each, looked up once.
        var runStarts: [Int] = []
        keys.withBytes { raw in
            guard let base = raw.baseAddress else { return }
            for position in order.indices {
                if position > 0 {
                    var x = RecordReader(base + offsets[order[position - 1]])
                    var y = RecordReader(base + offsets[order[position]])
                    if compareBytes(x.text(), y.text()) == 0, compareBytes(x.text(), y.text()) == 0 { continue }
                }
                runStarts.append(position)
            }
        }
        keys = RecordBuilder()
        let canonicalOfSegment = try store.canonicalIDs(ofSegments: Set(requests.compactMap(\.segmentID)))
        var resolved: [ResolvedRequest] = []
        // Every line gets an outcome; an identifier is planned once, for its first line that resolves.
        try store.lookUpActive(count: runStarts.count, key: { run in
            let request = requests[order[runStarts[run]]]
            return (request.type, request.value)
        }) { run, identifier in
            let end = run + 1 < runStarts.count ? runStarts[run + 1] : order.count
            var planned = false
            for position in runStarts[run]..<end {
                let request = requests[order[position]]
                if let rules = options.rules, rules.isProtected(type: request.type, value: request.value) {
                    unresolved.append((request, .protected))
                    continue
                }
                guard let identifier else {
                    unresolved.append((request, .notFound))
                    continue
                }
                if let segment = request.segmentID {
                    let canonical = canonicalOfSegment[segment] ?? segment
                    guard ByteOrder.equal(canonical, identifier.canonicalID) else {
                        unresolved.append((request, .profileMismatch))
                        continue
                    }
                }
                if planned {
                    result.duplicates += 1
                    continue
                }
                planned = true
                resolved.append(ResolvedRequest(request: request, identifier: identifier))
            }
        }
        requests = []  // resolved and unresolved hold what is still needed
        // Plan order: profile, type, oldest first.
        var planKeys = RecordBuilder()
        var planOffsets: [Int] = []
        planOffsets.reserveCapacity(resolved.count)
        for r in resolved {
            planOffsets.append(planKeys.count)
            planKeys.text(r.identifier.canonicalID)
            planKeys.text(r.request.type)
            planKeys.int64(r.identifier.firstSeen.microseconds)
            planKeys.int64(r.identifier.seq)
            planKeys.text(r.request.value)
        }
        let planOrder = sortedRecordIndices(planKeys, offsets: planOffsets) { a, b in
            var x = RecordReader(a)
            var y = RecordReader(b)
            var c = compareBytes(x.text(), y.text())
            if c != 0 { return c < 0 }
            c = compareBytes(x.text(), y.text())
            if c != 0 { return c < 0 }
            let (t1, t2) = (x.int64(), y.int64())
            if t1 != t2 { return t1 < t2 }
            let (s1, s2) = (x.int64(), y.int64())
            if s1 != s2 { return s1 < s2 }
            return compareBytes(x.text(), y.text()) < 0
        }
        planKeys = RecordBuilder()
        resolved = planOrder.map { resolved[$0] }

        let output = try PlanOutput(
            outDirectory: options.outDirectory,
            stamp: PlanStamp(generatedAt: now, rulesSHA256: options.rules?.sha256 ?? ""),
            header: [
                ("requests_file", JSONText.quote(options.requestsPath)),
                ("rules_sha256", "\"\(options.rules?.sha256 ?? "")\""), ("generated_at", "\"\(now)\""),
            ], assumptions: false)
        let dir = output.dir
        let writer = PlanWriter(output)
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
                    try writer.add(line, request: request)
                    result.planned += 1
                    if line.remediable { result.remediable += 1 }
                }
                if !lines.isEmpty { result.profiles += 1 }
                first = last
            }
            start = end
        }
        try writer.finish()

        let unresolvedFile = try OutputFile(path: dir + "/unresolved.csv")
        try unresolvedFile.writeCSVRecord(["line", "type", "value", "segment_id", "note", "reason"])
        for (request, reason) in unresolved.sorted(by: { $0.0.line < $1.0.line }) {
            try unresolvedFile.writeCSVRecord([
                String(request.line), request.type, request.value, request.segmentID ?? "", request.note ?? "",
                reason.rawValue,
            ])
            result.unresolved[reason, default: 0] += 1
        }
        try output.commitCSV()
        try output.commitJSON(history: nil, previousFolder: nil)
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
        return "\(NumberText.grouped(deletions)) deletions: about \(duration) at the API's limit of \(apiRequestsPerSecond) requests/s"
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

/// Renders and writes plan lines on a second thread, in batches, while the caller resolves the next profiles.
///
/// The output belongs to the writer's queue from the first ``add(_:request:)`` until ``finish()`` returns.
final class PlanWriter: @unchecked Sendable {
    // `output` and `failure` are touched only on `queue`; the caller reads `failure` after `queue.sync`. `slots`
    // bounds the batches in flight (memory).
    private let output: PlanOutput
    private let queue = DispatchQueue(label: "idaudit.plan-writer")
    private let slots = DispatchSemaphore(value: 4)
    private var batch: [(PlanLine, DeletionRequest)] = []
    private var failure: (any Error)?

    init(_ output: PlanOutput) {
        self.output = output
    }

    func add(_ line: PlanLine, request: DeletionRequest) throws {
        batch.append((line, request))
        if batch.count == 8192 { try flush() }
    }

    private func flush() throws {
        let lines = batch
        batch.removeAll(keepingCapacity: true)
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            guard failure == nil else { return }
            do {
                for (line, request) in lines {
                    let object = line.jsonObject(requestLine: request.line, note: request.note)
                    try output.add(
                        csvRecord: line.csvRecord.utf8, json: line.jsonEntry(object, limit: nil, counted: nil, kept: nil).utf8,
                        remediable: line.remediable, rank: line.rank)
                }
            } catch {
                failure = error
            }
        }
    }

    func finish() throws {
        if !batch.isEmpty { try flush() }
        try queue.sync {
            if let failure { throw failure }
        }
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
