import IDAuditCSV

/// Where the columns idaudit reads sit in a header; names match in any case and any order.
struct ExportColumns {
    private var positions: [String: Int] = [:]
    let count: Int

    init(header: [String]) {
        count = header.count
        for (index, name) in header.enumerated() {
            let key = name.trimmingSpaces().lowercased()
            if positions[key] == nil { positions[key] = index }
        }
    }

    func position(_ name: String) -> Int? { positions[name.lowercased()] }

    func require(_ name: String, file: String) throws(IngestError) -> Int {
        guard let index = position(name) else {
            throw IngestError(
                code: .missingColumn, file: file, line: 1,
                message: "missing required column \(name.uppercased()) (the header has \(count) columns)")
        }
        return index
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }
}

/// Field parsing for the ingest hot path: straight from the CSV buffer's bytes.
enum FieldParser {
    /// A signed decimal integer in Int64's range, nil for anything else (``isInteger(_:)`` tells the two apart).
    static func int64(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !b.isEmpty else { return nil }
        var i = 0
        var negative = false
        if b[0] == 45 || b[0] == 43 {
            negative = b[0] == 45
            i = 1
        }
        guard i < b.count else { return nil }
        // Accumulated on the value's own side of zero, so that Int64.min parses too.
        var value: Int64 = 0
        while i < b.count {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            value = s
            i += 1
        }
        return value
    }

    /// Whether the bytes are a signed decimal integer of any size: when ``int64(_:)`` is nil for one, it is out of
    /// range.
    static func isInteger(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let digits = b.first == 45 || b.first == 43 ? UnsafeBufferPointer(rebasing: b.dropFirst()) : b
        return !digits.isEmpty && digits.allSatisfy { $0 &- 48 < 10 }
    }

    /// Whether the bytes are valid UTF-8 (fast path for ASCII).
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in b where byte >= 0x80 {
            return String(validating: b, as: UTF8.self) != nil
        }
        return true
    }

    /// Case-insensitive ASCII comparison with a lower-case literal.
    static func equalsLowercase(_ b: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard b.count == literal.utf8CodeUnitCount else { return false }
        let l = literal.utf8Start
        for i in 0..<b.count where (b[i] | 0x20) != l[i] { return false }
        return true
    }

    /// A field as text for messages (truncated).
    static func show(_ b: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: b, as: UTF8.self)
        return text.count > 60 ? String(text.prefix(60)) + "…" : text
    }
}
