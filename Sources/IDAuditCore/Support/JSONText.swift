/// Minimal JSON string encoding for the hot paths (plan.json, cached rationale), where building Foundation
/// objects per line would dominate the cost.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + text + "\"" }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A JSON array of strings.
    public static func encodeStrings(_ values: [String]) -> String {
        "[" + values.map(quote).joined(separator: ",") + "]"
    }

    /// Decodes what ``encodeStrings(_:)`` wrote; an empty array for anything else.
    public static func decodeStrings(_ json: String) -> [String] {
        var result: [String] = []
        var current = ""
        var inString = false
        var iterator = json.unicodeScalars.makeIterator()
        while let c = iterator.next() {
            if !inString {
                if c == "\"" { inString = true }
                continue
            }
            switch c {
            case "\"":
                result.append(current)
                current = ""
                inString = false
            case "\\":
                guard let e = iterator.next() else { return result }
                switch e {
                case "n": current += "\n"
                case "r": current += "\r"
                case "t": current += "\t"
                case "u":
                    var hex = ""
                    for _ in 0..<4 { if let h = iterator.next() { hex.unicodeScalars.append(h) } }
                    if let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) { current.unicodeScalars.append(s) }
                default: current.unicodeScalars.append(e)
                }
            default:
                current.unicodeScalars.append(c)
            }
        }
        return result
    }
}
