/// The rule evaluator: decides, for one profile at a time, which identifiers are in excess (rules 3 to 8).
///
/// Pure and allocation-light: it never sees SQL or HTTP, so the SQLite store, a warehouse and the tests all feed
/// it the same ``Profile`` values.
public struct Evaluator: Sendable {
    /// The rules evaluated.
    public let rules: RuleSet

    /// Creates an evaluator.
    public init(rules: RuleSet) {
        self.rules = rules
    }

    /// Evaluates one profile.
    public func evaluate(_ profile: Profile) -> ProfileEvaluation {
        var identifiers = profile.identifiers
        if !isPlanOrdered(identifiers) {
            identifiers.sort { a, b in
                if !ByteOrder.equal(a.type, b.type) { return ByteOrder.less(a.type, b.type) }
                return ProfileIdentifier.oldestFirst(a, b)
            }
        }
        var verdicts: [IdentifierVerdict] = []
        verdicts.reserveCapacity(identifiers.count)
        var types: [TypeOutcome] = []
        var start = 0
        while start < identifiers.count {
            var end = start + 1
            while end < identifiers.count, ByteOrder.equal(identifiers[end].type, identifiers[start].type) {
                end += 1
            }
            types.append(evaluateType(identifiers[start..<end], into: &verdicts))
            start = end
        }
        // Rule 6: the newest user_id that is not deleted.
        var lookup = ""
        for verdict in verdicts.reversed()
        where ByteOrder.equal(verdict.identifier.type, "user_id") && verdict.status.reason == nil {
            lookup = verdict.identifier.value
            break
        }
        var lines: [PlanLine] = []
        for verdict in verdicts {
            guard let reason = verdict.status.reason else { continue }
            let id = verdict.identifier
            var matched: String?
            if case .blocked(let entry) = verdict.status { matched = entry }
            lines.append(
                PlanLine(
                    segmentID: profile.canonicalID, type: id.type, value: id.value, reason: reason,
                    rank: verdict.rank, lookupUserID: lookup,
                    remediable: PlanLine.isRemediable(type: id.type, lookupUserID: lookup),
                    firstSeen: id.firstSeen, seq: id.seq,
                    limit: reason == .limit ? rules.limit(for: id.type) : nil, matched: matched))
        }
        return ProfileEvaluation(
            canonicalID: profile.canonicalID, verdicts: verdicts, types: types, lookupUserID: lookup, lines: lines)
    }

    private func isPlanOrdered(_ ids: [ProfileIdentifier]) -> Bool {
        guard ids.count > 1 else { return true }
        for i in 1..<ids.count {
            let a = ids[i - 1]
            let b = ids[i]
            if ByteOrder.equal(a.type, b.type) {
                if !ProfileIdentifier.oldestFirst(a, b) { return false }
            } else if !ByteOrder.less(a.type, b.type) {
                return false
            }
        }
        return true
    }

    /// Rules 3, 4, 5 and 7 for the identifiers of one type, already oldest first.
    private func evaluateType(
        _ group: ArraySlice<ProfileIdentifier>, into verdicts: inout [IdentifierVerdict]
    ) -> TypeOutcome {
        let base = verdicts.count
        let type = group[group.startIndex].type
        var candidates: [Int] = []  // indices into verdicts of identifiers that count toward the limit
        var protectedCount = 0
        for id in group {
            let isProtected = rules.isProtected(type: type, value: id.value)
            var status = IdentifierStatus.kept
            if isProtected {
                status = .protected
                protectedCount += 1
            } else if let entry = rules.blockingEntry(type: type, value: id.value) {
                status = .blocked(entry.summary)
            }
            if case .blocked = status {} else { candidates.append(verdicts.count) }
            verdicts.append(IdentifierVerdict(identifier: id, status: status, rank: 0))
        }
        let limit = rules.limit(for: type)
        if let limit {
            if let window = limit.frequency.window {
                evictWindowed(candidates, limit: limit.limit, window: window, verdicts: &verdicts)
            } else {
                // Rule 4: allowance = max(0, limit - |P|); the oldest |C| - allowance of C are excess.
                let allowance = max(0, limit.limit - protectedCount)
                var toEvict = candidates.count - protectedCount - allowance
                for index in candidates where toEvict > 0 && verdicts[index].status == .kept {
                    verdicts[index].status = .excess
                    toEvict -= 1
                }
            }
        }
        // Rule 7: rank deletions oldest first, blocked and limit together.
        var rank = 0
        for index in base..<verdicts.count where verdicts[index].status.reason != nil {
            rank += 1
            verdicts[index].rank = rank
        }
        // The kept values are the rationale of deletions: listed only for types that have some.
        var kept: [String] = []
        if rank > 0 {
            for index in base..<verdicts.count where verdicts[index].status.reason == nil {
                kept.append(verdicts[index].identifier.value)
            }
        }
        return TypeOutcome(type: type, limit: limit, counted: candidates.count, kept: kept)
    }

    /// Rule 5: walk oldest first; after each addition, while the kept identifiers with first_seen in
    /// (first_seen - W, first_seen] number more than the limit, evict the oldest non-protected one among them;
    /// stop when all of them are protected.
    private func evictWindowed(_ candidates: [Int], limit: Int, window: Int64, verdicts: inout [IdentifierVerdict]) {
        var kept: [Int] = []
        kept.reserveCapacity(candidates.count)
        for index in candidates {
            kept.append(index)
            let windowStart = verdicts[index].identifier.firstSeen.microseconds - window
            var first = kept.count - 1
            while first > 0, verdicts[kept[first - 1]].identifier.firstSeen.microseconds > windowStart { first -= 1 }
            var inWindow = kept.count - first
            while inWindow > limit {
                guard let victim = kept[first...].firstIndex(where: { verdicts[$0].status != .protected }) else { break }
                verdicts[kept[victim]].status = .excess
                kept.remove(at: victim)
                inWindow -= 1
            }
        }
    }
}
