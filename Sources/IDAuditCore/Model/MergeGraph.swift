/// Rule 1 of the scan semantics: following `id_graph_updates` parents to a profile's canonical id.
///
/// For each SEGMENT_ID the parent is the CANONICAL_SEGMENT_ID of its row with the highest SEQ. A profile's
/// canonical id is reached by following parents until an id maps to itself or has no row.
public struct MergeGraph: Sendable {
    /// Parents of the segment ids whose parent is another id. Ids mapping to themselves or with no row are roots and
    /// are not stored, which keeps the graph as small as the number of merges.
    public private(set) var parents: [String: String]

    /// Creates a graph from `segment id -> parent` pairs; pairs mapping an id to itself are dropped.
    public init(parents: [String: String] = [:]) {
        self.parents = parents.filter { $0.key != $0.value }
    }

    /// Sets (or, with a self-parent or nil, clears) the parent of `segmentID`.
    public mutating func setParent(_ parent: String?, of segmentID: String) {
        if let parent, parent != segmentID {
            parents[segmentID] = parent
        } else {
            parents[segmentID] = nil
        }
    }

    /// The canonical id of `segmentID`, or a ``MergeCycleError`` naming the ids of the cycle.
    public func canonical(of segmentID: String) throws(MergeCycleError) -> String {
        var current = segmentID
        var steps = 0
        while let parent = parents[current] {
            current = parent
            steps += 1
            if steps > parents.count {
                throw MergeCycleError(ids: cycle(from: segmentID))
            }
        }
        return current
    }

    /// The chain from `segmentID` to its canonical id, both ends included.
    public func chain(from segmentID: String) throws(MergeCycleError) -> [String] {
        var chain = [segmentID]
        var current = segmentID
        while let parent = parents[current] {
            chain.append(parent)
            current = parent
            if chain.count > parents.count + 1 {
                throw MergeCycleError(ids: cycle(from: segmentID))
            }
        }
        return chain
    }

    /// Resolves every id that has a parent to its canonical id, in time linear in the graph.
    ///
    /// - Throws: ``MergeCycleError`` for the first cycle found.
    public func resolveAll() throws(MergeCycleError) -> [String: String] {
        var resolved: [String: String] = [:]
        resolved.reserveCapacity(parents.count)
        var path: [String] = []
        for start in parents.keys where resolved[start] == nil {
            path.removeAll(keepingCapacity: true)
            var current = start
            var onPath = Set<String>()
            var root: String
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
                    throw MergeCycleError(ids: cycle(from: current))
                }
                path.append(current)
                current = parent
            }
            for id in path { resolved[id] = root }
        }
        return resolved
    }

    private func cycle(from start: String) -> [String] {
        var seen: [String: Int] = [:]
        var order: [String] = []
        var current = start
        while seen[current] == nil {
            seen[current] = order.count
            order.append(current)
            guard let parent = parents[current] else { return order }
            current = parent
        }
        return Array(order[seen[current]!...])
    }
}

/// The merge graph loops back on itself: an input error, since no profile can be canonical.
public struct MergeCycleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The segment ids on the cycle, in parent order starting from the first one reached.
    public var ids: [String]

    /// Creates an error.
    public init(ids: [String]) { self.ids = ids }

    public var description: String {
        "id_graph_updates: merge cycle: " + (ids + ids.prefix(1)).joined(separator: " -> ")
            + " (each id's highest-SEQ row points to the next; no canonical profile can be chosen)"
    }
}
