/// Numbers for people: 1234567 -> "1,234,567", -1912 -> "-1,912". The one grouping every report and the terminal use.
package enum NumberText {
    /// `n` with its thousands grouped by commas.
    package static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }
}
