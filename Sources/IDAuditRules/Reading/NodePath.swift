// MARK: - NodePath

/// Where a node sits in the rules file, written as users see it in errors: `identifiers.email.frequency`,
/// `blocked[2].pattern`.
///
/// Keys made only of letters, digits, `_`, `-` and `.` are written as they are (so `identifiers.android.id.limit`
/// stays readable); any other key is quoted. List positions count from 0, as in jq and JSONPath.
struct NodePath: CustomStringConvertible, Sendable {
    /// The path as text; empty for the document itself.
    private(set) var description: String

    /// The document itself.
    static let root = NodePath(description: "")

    /// The path of the value under `key` in the mapping at this path.
    func appending(key: String) -> NodePath {
        let isBare = !key.isEmpty && key.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || "_-.".unicodeScalars.contains(scalar)
        }
        let component = isBare ? key : quoted(key)
        return NodePath(description: description.isEmpty ? component : "\(description).\(component)")
    }

    /// The path of the element at `index` in the list at this path.
    func appending(index: Int) -> NodePath {
        NodePath(description: "\(description)[\(index)]")
    }
}
