import IDAuditCore
import IDAuditStore

/// `report.html`: one self-contained page (inline CSS, charts as inline SVG, no network) for people to read.
public enum HTMLReport {
    /// Renders the report.
    public static func render(_ d: ReportData) -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>idaudit report \(esc(d.generatedAt.description))</title>
            <style>\(css)</style></head><body><main>

            """
        h += "<header><h1>Identity graph audit</h1><p class=\"meta\">Scanned \(esc(d.generatedAt.description)) · "
        h += "\(esc(d.source)) · rules <code>\(esc(d.rulesPath))</code> "
        h += "(sha256 <code>\(d.rules.sha256.prefix(12))…</code>)"
        if let run = d.run, run.id > 0 { h += " · run \(run.id)" }
        if d.redacted { h += " · <strong>identifier values redacted</strong> (#hash = first 10 hex of sha256)" }
        h += "</p></header>\n"
        h += headline(d)
        h += "<section><h2>What is wrong</h2>\n" + verdictSentence(d) + excessChart(d) + "</section>\n"
        h += histograms(d)
        h += offenders(d)
        h += capsSection(d)
        h += rulesSection(d)
        h += checklist()
        h += "<footer>idaudit · plan.csv holds every line; plan.json the rationale; summary.json the counts.</footer>\n"
        h += "</main></body></html>\n"
        return h
    }

    // MARK: - Sections

    static func headline(_ d: ReportData) -> String {
        var cards: [(String, String, String)] = [
            ("Profiles scanned", count(d.totals.profiles), "\(count(d.totals.identifiers)) active identifiers"),
            ("Profiles in violation", count(d.totals.profilesInViolation), percent(d.totals.profilesInViolation, d.totals.profiles) + " of profiles"),
            ("Identifiers to delete", count(d.excess), "\(count(d.remediable)) remediable · \(count(d.excess - d.remediable)) not"),
        ]
        if let run = d.run, let change = d.excessChange {
            let sign = change > 0 ? "+" : ""
            cards.append(
                (d.previousLabel, sign + count(change),
                 "\(count(run.new)) new · \(count(run.persisting)) persisting · \(count(run.resolved)) resolved · "
                    + "\(count(run.reintroduced)) reintroduced"))
        } else if let run = d.run {
            cards.append(("Since last run", "—", "first run with these rules"
                + (run.reintroduced > 0 ? " · \(count(run.reintroduced)) reintroduced" : "")))
        } else {
            cards.append(("Since last run", "—", "no history: give --previous DIR (the last scan's folder)"))
        }
        var h = "<section class=\"cards\">\n"
        for (title, number, note) in cards {
            h += "<div class=\"card\"><div class=\"k\">\(esc(title))</div><div class=\"n\">\(esc(number))</div>"
            h += "<div class=\"note\">\(esc(note))</div></div>\n"
        }
        if let run = d.run, run.reintroduced > 0 {
            h += "<div class=\"card warn\"><div class=\"k\">Reintroduced</div><div class=\"n\">\(count(run.reintroduced))</div>"
            h += "<div class=\"note\">deleted by an earlier apply, active again (event replays do this)</div></div>\n"
        }
        return h + "</section>\n"
    }

    static func verdictSentence(_ d: ReportData) -> String {
        guard d.excess > 0 else {
            return "<p class=\"ok\">No profile breaks the rules: nothing to delete.</p>\n"
        }
        var p = "<p>\(count(d.totals.profilesInViolation)) profiles hold identifiers beyond the rules. The plan deletes "
        p += "\(count(d.excess)) identifiers, oldest first within each type; \(count(d.remediable)) can be deleted "
        p += "through Segment's Delete Profile Identifier API (the profile keeps a user_id to address it by); the other "
        p += "\(count(d.excess - d.remediable)) belong to profiles with no user_id or are group_id values.</p>\n"
        return p
    }

    static let reasonColors: [(ExcessReason, String)] = [(.limit, "#d9534f"), (.blocked, "#f0ad4e"), (.requested, "#5b8def")]

    /// Horizontal stacked bars: excess identifiers per type, split by reason.
    static func excessChart(_ d: ReportData) -> String {
        var byType: [ByteString: [ExcessReason: Int]] = [:]
        for e in d.totals.excess { byType[ByteString(e.type), default: [:]][e.reason, default: 0] += e.count }
        guard !byType.isEmpty else { return "" }
        let types = byType.keys.sorted { (byType[$0]!.values.reduce(0, +), $1) > (byType[$1]!.values.reduce(0, +), $0) }
        let maxTotal = max(1, types.map { byType[$0]!.values.reduce(0, +) }.max() ?? 1)
        let rowHeight = 28
        let labelWidth = 140
        let chartWidth = 760
        let height = types.count * rowHeight + 40
        var s = "<figure><figcaption>Excess identifiers by type and reason</figcaption>\n"
        s += "<svg role=\"img\" aria-label=\"Excess identifiers by type and reason\" viewBox=\"0 0 \(labelWidth + chartWidth + 100) \(height)\" width=\"100%\">\n"
        for (i, type) in types.enumerated() {
            let y = i * rowHeight + 4
            s += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 17)\" text-anchor=\"end\" class=\"lbl\">\(esc(type.string))</text>\n"
            var x = Double(labelWidth)
            for (reason, color) in reasonColors {
                let n = byType[type]![reason] ?? 0
                guard n > 0 else { continue }
                let w = Double(chartWidth) * Double(n) / Double(maxTotal)
                s += "<rect x=\"\(fmt(x))\" y=\"\(y)\" width=\"\(fmt(max(w, 1)))\" height=\"\(rowHeight - 8)\" fill=\"\(color)\">"
                s += "<title>\(esc(type.string)) \(reason.rawValue): \(count(n))</title></rect>\n"
                x += w
            }
            let total = byType[type]!.values.reduce(0, +)
            s += "<text x=\"\(fmt(x + 6))\" y=\"\(y + 17)\" class=\"val\">\(count(total))</text>\n"
        }
        var lx = labelWidth
        let ly = types.count * rowHeight + 20
        for (reason, color) in reasonColors where d.totals.excess.contains(where: { $0.reason == reason }) {
            s += "<rect x=\"\(lx)\" y=\"\(ly)\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            s += "<text x=\"\(lx + 16)\" y=\"\(ly + 11)\" class=\"lbl\">\(reason.rawValue)</text>\n"
            lx += 110
        }
        s += "</svg></figure>\n"
        s += "<table><thead><tr><th>type</th><th>reason</th><th class=\"r\">excess</th><th class=\"r\">remediable</th></tr></thead><tbody>\n"
        for e in d.totals.excess {
            s += "<tr><td>\(esc(e.type))</td><td>\(e.reason.rawValue)</td><td class=\"r\">\(count(e.count))</td>"
            s += "<td class=\"r\">\(count(e.remediable))</td></tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    /// Per type: profiles by identifiers counted toward the limit, the limit drawn as a line.
    static func histograms(_ d: ReportData) -> String {
        let types = d.histogram.keys.sorted()
        guard !types.isEmpty else { return "" }
        var h = "<section><h2>Identifiers per profile</h2>\n<p>Per type, how many profiles count each number of "
        h += "identifiers toward the limit (blocked values excluded). Bars right of the dashed line hold more than the "
        h += "limit; for a windowed limit (daily ... annually) the counts span all time, and only identifiers first "
        h += "seen within one window count against each other.</p>\n"
        h += "<div class=\"grid\">\n"
        for type in types {
            h += histogram(type: type.string, counts: d.histogram[type]!, limit: d.rules.limit(for: type.string))
        }
        return h + "</div></section>\n"
    }

    static func histogram(type: String, counts: [Int: Int], limit: IdentifierLimit?) -> String {
        // Up to 15 bars: 0 ... 14, the last one gathering 14 and more.
        let cap = 14
        var bins = [Int](repeating: 0, count: cap + 1)
        for (n, profiles) in counts { bins[min(n, cap)] += profiles }
        let lastUsed = bins.lastIndex { $0 > 0 } ?? 0
        let shown = max(lastUsed, min(cap, (limit?.limit ?? 0) + 1)) + 1
        let width = 380
        let height = 190
        let plotTop = 24
        let plotBottom = 150
        let barWidth = Double(width - 40) / Double(shown)
        let maxBin = max(1, bins.prefix(shown).max() ?? 1)
        let overLimit = limit.map { l in counts.filter { $0.key > l.limit }.values.reduce(0, +) } ?? 0
        var s = "<figure class=\"hist\"><figcaption>\(esc(type))"
        s += limit.map { " · limit \($0.summary)" } ?? " · no limit"
        if overLimit > 0 {
            s += " · <span class=\"overtext\">\(count(overLimit)) profile\(overLimit == 1 ? "" : "s") above it</span>"
        }
        s += "</figcaption>\n<svg role=\"img\" aria-label=\"\(esc(type)) identifiers per profile\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\">\n"
        for i in 0..<shown {
            let x = 30 + Double(i) * barWidth
            let bh = Double(plotBottom - plotTop) * Double(bins[i]) / Double(maxBin)
            let over = limit.map { i > $0.limit } ?? false
            s += "<rect x=\"\(fmt(x + 1))\" y=\"\(fmt(Double(plotBottom) - bh))\" width=\"\(fmt(barWidth - 2))\" "
            s += "height=\"\(fmt(max(bh, bins[i] > 0 ? 1 : 0)))\" fill=\"\(over ? "#d9534f" : "#6c8ebf")\">"
            s += "<title>\(i == cap ? "\(cap)+" : String(i)) \(esc(type)): \(count(bins[i])) profiles</title></rect>\n"
            if over && bins[i] > 0 {
                // Over-limit bars are often tiny beside the rest: their count is written above them.
                s += "<text x=\"\(fmt(x + barWidth / 2))\" y=\"\(fmt(Double(plotBottom) - bh - 4))\" text-anchor=\"middle\" "
                s += "class=\"over\">\(count(bins[i]))</text>\n"
            }
            s += "<text x=\"\(fmt(x + barWidth / 2))\" y=\"\(plotBottom + 14)\" text-anchor=\"middle\" class=\"tick\">"
            s += "\(i == cap ? "\(cap)+" : String(i))</text>\n"
        }
        if let limit, limit.limit < shown {
            let lx = 30 + Double(limit.limit + 1) * barWidth
            s += "<line x1=\"\(fmt(lx))\" y1=\"\(plotTop - 8)\" x2=\"\(fmt(lx))\" y2=\"\(plotBottom)\" class=\"limit\"/>"
            s += "<text x=\"\(fmt(lx + 4))\" y=\"\(plotTop - 10)\" class=\"tick\">limit \(limit.limit)</text>\n"
        }
        s += "<text x=\"\(width / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\" class=\"tick\">identifiers per profile</text>\n"
        s += "<text x=\"30\" y=\"14\" class=\"tick\">max \(count(maxBin)) profiles</text>\n"
        return s + "</svg></figure>\n"
    }

    /// Segment's system caps: the profiles at or near them, whatever the rules say.
    static func capsSection(_ d: ReportData) -> String {
        guard !d.caps.isEmpty else { return "" }
        var h = "<section><h2>Segment's system limits</h2>\n<p>Once a profile reaches one, Segment adds no more merges "
        h += "or identifier mappings to it (event resolution goes on). Counted whatever the rules say; near is from "
        h += "90% of the cap; mappings are the profile's active identifiers.</p>\n<table><tr><th>limit</th><th>cap</th>"
        h += "<th>profiles at or over</th><th>near</th><th>highest</th></tr>\n"
        for c in d.caps {
            let top = c.top.prefix(5).map { "<code>\(esc($0.profile))</code> \(count($0.count))" }.joined(separator: ", ")
            h += "<tr><td>\(esc(c.name))</td><td>\(count(c.cap))</td><td>\(count(c.atOrOver))</td>"
            h += "<td>\(count(c.near))</td><td>\(top.isEmpty ? "none" : top)</td></tr>\n"
        }
        return h + "</table></section>\n"
    }

    static func offenders(_ d: ReportData) -> String {
        guard !d.offenders.isEmpty else { return "" }
        var h = "<section><h2>Top \(d.offenders.count) offending profiles</h2>\n<p>Every identifier of each profile in "
        h += "time order, with the decision and the reason. Deletions are addressed by the lookup user_id.</p>\n"
        for (i, o) in d.offenders.enumerated() {
            h += "<details\(i < 3 ? " open" : "")><summary><span class=\"rank\">\(i + 1)</span> <code>\(esc(o.canonicalID))</code>"
            h += " · <strong>\(o.excess)</strong> to delete of \(o.rows.count) · lookup "
            h += o.lookupUserID.isEmpty ? "<em>none (not remediable)</em>" : "<code>\(esc(o.lookupUserID))</code>"
            h += "</summary>\n<table><thead><tr><th>first seen</th><th>type</th><th>value</th><th>decision</th><th>why</th></tr></thead><tbody>\n"
            for r in o.rows {
                h += "<tr class=\"\(r.status)\"><td class=\"t\">\(esc(String(r.firstSeen.description.prefix(19))))</td>"
                h += "<td>\(esc(r.type))</td><td class=\"v\">\(esc(r.value))</td>"
                h += "<td><span class=\"badge \(r.status)\">\(r.status)</span></td><td>\(esc(r.why))</td></tr>\n"
            }
            h += "</tbody></table></details>\n"
        }
        return h + "</section>\n"
    }

    static func rulesSection(_ d: ReportData) -> String {
        let redactor = Redactor(enabled: d.redacted)
        var h = "<section><h2>Rules and assumptions</h2>\n<p>Rules file <code>\(esc(d.rulesPath))</code>, sha256 "
        h += "<code>\(d.rules.sha256)</code>.</p>\n<table><thead><tr><th>identifier type</th><th>limit</th></tr></thead><tbody>\n"
        for type in d.rules.limits.keys.sorted() {
            h += "<tr><td>\(esc(type.string))</td><td>\(esc(d.rules.limits[type]!.summary))</td></tr>\n"
        }
        if let def = d.rules.defaultLimit { h += "<tr><td><em>any other type</em></td><td>\(esc(def.summary))</td></tr>\n" }
        h += "</tbody></table>\n"
        if !d.rules.blocked.isEmpty {
            h += "<p>Blocked: " + d.rules.blocked.map { "<code>\(esc($0.summary))</code>" }.joined(separator: ", ") + ".</p>\n"
        }
        if !d.rules.protected.isEmpty {
            let list = d.rules.protected.sorted {
                (ByteString($0.type), ByteString($0.value)) < (ByteString($1.type), ByteString($1.value))
            }
            h += "<p>Protected (never deleted, counted toward limits): "
            h += list.map { "<code>\(esc($0.type)):\(esc(redactor.value($0.value)))</code>" }.joined(separator: ", ") + ".</p>\n"
        }
        h += "<p>Assumptions (Segment does not document these):</p><ul>\n"
        for (name, text) in Scanner.assumptions { h += "<li><strong>\(esc(name))</strong>: \(esc(text))</li>\n" }
        return h + "</ul></section>\n"
    }

    static func checklist() -> String {
        var h = "<section><h2>Before and after you apply: downstream checklist</h2><ul class=\"check\">\n"
        for item in DownstreamChecklist.items { h += "<li>\(esc(item))</li>\n" }
        return h + "</ul></section>\n"
    }

    // MARK: - Helpers

    static let css = """
        body{margin:0;background:#f6f7f9;color:#1d2330;font:15px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
        h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
        .meta{color:#5a6372;margin:0;font-size:13px}code{font-family:"SFMono-Regular",Menlo,Consolas,monospace;font-size:12.5px}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px;margin-top:20px}
        .card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 16px}
        .card.warn{border-color:#d9534f;background:#fff5f5}
        .k{color:#5a6372;font-size:13px}.n{font-size:30px;font-weight:650;margin:2px 0}.note{color:#5a6372;font-size:12.5px}
        figure{margin:12px 0;background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px 12px}
        figcaption{font-weight:600;font-size:13.5px;margin-bottom:4px}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
        svg text{font-size:12px;fill:#1d2330}svg .tick{font-size:10.5px;fill:#5a6372}svg .val{font-size:12px;fill:#5a6372}
        svg .limit{stroke:#1d2330;stroke-width:1.5;stroke-dasharray:4 3}svg .over{font-size:10.5px;fill:#b42318;font-weight:600}
        .overtext{color:#b42318;font-weight:600}
        table{border-collapse:collapse;width:100%;background:#fff;font-size:13px;margin:8px 0}
        th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
        th{background:#f0f2f5;font-weight:600}td.r,th.r{text-align:right}td.v{font-family:Menlo,Consolas,monospace;word-break:break-all}
        td.t{white-space:nowrap;color:#5a6372}
        details{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin:8px 0;padding:6px 10px}
        summary{cursor:pointer;padding:4px 0}.rank{display:inline-block;min-width:22px;font-weight:700;color:#5a6372}
        .badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:11.5px;font-weight:600}
        .badge.kept{background:#e6f4ea;color:#1e7a34}.badge.excess{background:#fde2e1;color:#b42318}
        .badge.blocked{background:#fdf0d5;color:#9a5b00}.badge.protected{background:#e3ecfd;color:#2952a3}
        tr.excess td,tr.blocked td{background:#fffafa}
        .ok{background:#e6f4ea;border:1px solid #b7dfc2;border-radius:8px;padding:10px 14px}
        ul.check li{margin:6px 0}footer{margin-top:40px;color:#5a6372;font-size:12.5px}
        """

    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func fmt(_ x: Double) -> String {
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    static func count(_ n: Int) -> String { NumberText.grouped(n) }

    static func percent(_ a: Int, _ b: Int) -> String {
        guard b > 0 else { return "0%" }
        let p = Double(a) * 100 / Double(b)
        return p < 0.1 && a > 0 ? "<0.1%" : String((p * 10).rounded() / 10) + "%"
    }
}
