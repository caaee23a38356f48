/// Rule 1 of the scan semantics: following `id_graph_updates` parents to a profile's canonical id.
///
/// For each SEGMENT_ID the parent is the CANONICAL_SEGMENT_ID of its row with the highest SEQ. A profile's
/// canonical id is reached by following parents until an id maps to itself or has no row.
public struct MergeGraph: Sendable {
    /// Parents of the segment ids whose parent is another id. Ids mapping to themselves or with no row are roots and
    /// are not stored, which keeps the graph as small as the number of merges. Ids are compared as bytes: two ids
    /// that differ only in Unicode normalization are two segments.
    public private(set) var parents: [ByteString: ByteString]

    /// Creates a graph from `segment id -> parent` pairs; pairs mapping an id to itself are dropped.
    public init(parents: [ByteString: ByteString] = [:]) {
        self.parents = parents.filter { $0.key != $0.value }
    }

    /// Sets (or, with a self-parent or nil, clears) the parent of `segmentID`.
    public mutating func setParent(_ parent: String?, of segmentID: String) {
        if let parent, !ByteOrder.equal(parent, segmentID) {
            parents[ByteString(segmentID)] = ByteString(parent)
        } else {
            parents[ByteString(segmentID)] = nil
        }
    }

    /// The canonical id of `segmentID`, or a ``MergeCycleError`` naming the ids of the cycle.
    public func canonical(of segmentID: String) throws(MergeCycleError) -> String {
        try chain(from: segmentID).last ?? segmentID
    }

    /// The chain from `segmentID` to its canonical id, both ends included.
    public func chain(from segmentID: String) throws(MergeCycleError) -> [String] {
        var chain = [segmentID]
        var current = ByteString(segmentID)
        while let parent = parents[current] {
            chain.append(parent.string)
            current = parent
            if chain.count > parents.count + 1 {
                throw MergeCycleError(ids: cycle(from: ByteString(segmentID)))
            }
        }
        return chain
    }

    /// Resolves every id that has a parent to its canonical id, in time linear in the graph.
    ///
    /// - Throws: ``MergeCycleError`` for a cycle: the one ``firstCycle()`` names, whatever the dictionary's order.
    public func resolveAll() throws(MergeCycleError) -> [ByteString: ByteString] {
        var resolved: [ByteString: ByteString] = [:]
        resolved.reserveCapacity(parents.count)
        var path: [ByteString] = []
        var onPath = Set<ByteString>()
        for start in parents.keys where resolved[start] == nil {
            path.removeAll(keepingCapacity: true)
            onPath.removeAll(keepingCapacity: true)
            var current = start
            var root: ByteString
            while true {
                if let known = resolved[current] {
                    root = known
                    break
                }
                guard let parent = parents[current] else {
                    root = current
                    break
                }
                if !onPath.insert(current).inserted {
                    throw MergeCycleError(ids: firstCycle() ?? cycle(from: current))
                }
                path.append(current)
                current = parent
            }
            for id in path { resolved[id] = root }
        }
        return resolved
    }

    /// The cycle reached first when the ids are walked in byte order (nil when there is none): the same cycle on
    /// every run, for an error message that does not change between runs. Slow (it sorts every id): for errors.
    public func firstCycle() -> [String]? {
        var done = Set<ByteString>()
        for start in parents.keys.sorted() where !done.contains(start) {
            var onPath = Set<ByteString>()
            var current = start
            while let parent = parents[current], !done.contains(current) {
                if !onPath.insert(current).inserted { return cycle(from: current) }
                current = parent
            }
            done.formUnion(onPath)
        }
        return nil
    }

    private func cycle(from start: ByteString) -> [String] {
        var seen: [ByteString: Int] = [:]
        var order: [ByteString] = []
        var current = start
        while seen[current] == nil {
            seen[current] = order.count
            order.append(current)
            guard let parent = parents[current] else { return order.map(\.string) }
            current = parent
        }
        return Array(order[seen[current]!...]).map(\.string)
    }
}

/// The merge graph loops back on itself: an input error, since no profile can be canonical.
public struct MergeCycleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The segment ids on the cycle, in parent order, starting at the byte-smallest one.
    public var ids: [String]

    /// Creates an error for the cycle through `ids` (in parent order, from any of them).
    public init(ids: [String]) {
        guard let start = ids.indices.min(by: { ByteOrder.less(ids[$0], ids[$1]) }) else {
            self.ids = ids
            return
        }
        self.ids = Array(ids[start...] + ids[..<start])
    }

    /// `merge cycle: a -> b -> a (...)`, without a file: the ingest that finds it puts the file in front.
    public var description: String {
        "merge cycle: " + (ids + ids.prefix(1)).joined(separator: " -> ")
            + " (each id's highest-SEQ row points to the next; no canonical profile can be chosen)"
    }
}
