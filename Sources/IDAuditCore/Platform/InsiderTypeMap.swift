/// How plan identifier types map to Insider One identifier keys.
///
/// Default: `email` -> `email`, `phone` -> `phone_number` (E.164), `user_id` -> `uuid`, any other type -> the custom
/// identifier of the same name (`{"custom":{"<type>":"..."}}`). A file overrides entries, one `type: key` per line:
/// `key` is `email`, `phone_number`, `uuid`, `custom` (same name), `custom:<name>`, or `skip` (the type is not an
/// identifier at Insider One; its lines are not sent).
public struct InsiderTypeMap: Sendable, Equatable {
    /// Where a plan type goes.
    public enum Key: Sendable, Equatable {
        case email, phoneNumber, uuid
        case custom(String)
        case skip
    }

    private var overrides: [String: Key]

    /// The default map.
    public init(overrides: [String: Key] = [:]) { self.overrides = overrides }

    /// The Insider key of a plan type.
    public func key(for type: String) -> Key {
        if let key = overrides[type] { return key }
        return Self.defaultKey(for: type)
    }

    private static func defaultKey(for type: String) -> Key {
        switch type {
        case "email": return .email
        case "phone": return .phoneNumber
        case "user_id": return .uuid
        default: return .custom(type)
        }
    }

    /// A hash of what this map changes from the default map (nil when it changes nothing): two maps that send the
    /// same requests have the same fingerprint. Approvals and the apply journal name it, so a plan approved or
    /// applied under one map is never taken for done under another.
    public var fingerprint: String? {
        let changed = overrides.filter { $0.value != Self.defaultKey(for: $0.key) }
        guard !changed.isEmpty else { return nil }
        let lines = changed.map { type, key -> [UInt8] in
            let name: String
            switch key {
            case .email: name = "email"
            case .phoneNumber: name = "phone_number"
            case .uuid: name = "uuid"
            case .custom(let custom): name = "custom:" + custom
            case .skip: name = "skip"
            }
            return Array(type.utf8) + [9] + Array(name.utf8) + [10]
        }
        return SHA256Digest.hex(of: lines.sorted { $0.lexicographicallyPrecedes($1) }.joined())
    }

    /// Reads a type-map file: `type: key` lines, `#` comments; errors name the file and line.
    public static func parse(_ text: String, file: String) throws(TypeMapError) -> InsiderTypeMap {
        var overrides: [String: Key] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            var content = Substring(raw)
            if let hash = content.firstIndex(of: "#") { content = content[..<hash] }
            let trimmed = trim(content)
            if trimmed.isEmpty { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw TypeMapError(file: file, line: line, message: "expected `type: key`, got \"\(trimmed)\"")
            }
            let type = unquote(trimmed[..<colon])
            let value = unquote(trimmed[trimmed.index(after: colon)...])
            guard !type.isEmpty else { throw TypeMapError(file: file, line: line, message: "the type is empty") }
            guard overrides[type] == nil else {
                throw TypeMapError(file: file, line: line, message: "\(type) is mapped twice")
            }
            switch value {
            case "email": overrides[type] = .email
            case "phone_number": overrides[type] = .phoneNumber
            case "uuid": overrides[type] = .uuid
            case "skip": overrides[type] = .skip
            case "custom": overrides[type] = .custom(type)
            case let v where v.hasPrefix("custom:") && v.count > 7: overrides[type] = .custom(String(v.dropFirst(7)))
            default:
                throw TypeMapError(
                    file: file, line: line,
                    message: "\(type): \"\(value)\" is not an Insider One identifier key; expected email, "
                        + "phone_number, uuid, custom, custom:<name> or skip")
            }
        }
        return InsiderTypeMap(overrides: overrides)
    }

    private static func trim(_ s: Substring) -> String {
        var t = s
        while let f = t.first, f == " " || f == "\t" || f == "\r" { t.removeFirst() }
        while let l = t.last, l == " " || l == "\t" || l == "\r" { t.removeLast() }
        return String(t)
    }

    /// The plan type an Insider key stands for (the map read backwards).
    public func planType(forKey key: Key) -> String {
        for (type, mapped) in overrides where mapped == key { return type }
        switch key {
        case .email: return "email"
        case .phoneNumber: return "phone"
        case .uuid: return "user_id"
        case .custom(let name): return name
        case .skip: return ""
        }
    }

    private static func unquote(_ s: Substring) -> String {
        var t = trim(s)
        if t.count >= 2, let f = t.first, f == t.last, f == "\"" || f == "'" { t = String(t.dropFirst().dropLast()) }
        return t
    }
}

/// A bad type-map line.
public struct TypeMapError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public var file: String
    /// The 1-based line.
    public var line: Int
    /// What is wrong.
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}
