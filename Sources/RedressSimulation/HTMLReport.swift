import RedressIR
import RedressEvents
import RedressEngine

/// One self-contained HTML page: the totals, the breakdowns, and charts drawn as inline SVG
/// (cost over time per rule, cost by segment, the sweep curve). No scripts, no external files;
/// every string from rules or data is HTML-escaped.
public enum HTMLReport {
    public static func escape(_ text: String) -> String {
        // By scalar: `<` followed by a combining mark is one Character, but still a `<`.
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public static func render(_ report: Report, comparison: Comparison? = nil, sweep: Sweep? = nil, title: String = "Redress simulation") -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
            table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}
            td.n{text-align:right;font-variant-numeric:tabular-nums}h2{margin-top:1.5em}svg{background:#fafafa;border:1px solid #eee}
            .legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
            </style></head><body>
            <h1>\(escape(title))</h1>

            """
        html += "<table>"
        for (label, value) in [("events read", "\(report.events)"), ("decisions", "\(report.decisions)"), ("customers", "\(report.customersAffected)"),
                               ("orders", report.ordersAffected.map(String.init) ?? "–"), ("subjects", "\(report.subjectsAffected)"), ("projected cost", report.money(report.cost))] {
            html += "<tr><th>\(escape(label))</th><td class=n>\(escape(value))</td></tr>"
        }
        if let budget = report.budget {
            html += "<tr><th>budget</th><td class=n>\(escape(report.money(budget)))\(report.budgetExhausted.map { " — runs out at " + escape($0) } ?? "")</td></tr>"
        }
        html += "</table>\n"
        html += "<h2>Cost over time</h2>\n" + timeChart(report)
        html += section("By rule", report.rules, report)
        if !report.byFields.isEmpty {
            html += "<h2>By \(escape(report.byFields.joined(separator: ", ")))</h2>\n" + barChart(report.dimensions, report) + table(report.dimensions, report)
        }
        html += section("By action", report.actions, report)
        html += section("By month", report.months, report)
        html += section("Held back by policies", report.savedByPolicy, report)
        if !report.outOfSeason.isEmpty {
            html += "<h2>Out of season (not active)</h2>\n<p>Decisions of seasonal rules outside their <code>active</code> dates, "
                + "and what they would have cost: not in the projected cost, and not saved by a policy.</p>\n" + table(report.outOfSeason, report)
        }
        html += section("Top customers", report.topCustomers, report)
        html += section("Decision cost", report.distribution, report)
        if let comparison {
            html += "<h2>Compared with the baseline</h2><table><tr><th>rule</th><th>baseline</th><th>this</th><th>difference</th></tr>"
            for row in comparison.rows {
                html += "<tr><td>\(escape(row.rule))</td><td class=n>\(escape(report.money(row.baselineCost)))</td><td class=n>\(escape(report.money(row.cost)))</td><td class=n>\(escape(comparison.signed(row.delta)))</td></tr>"
            }
            html += "<tr><th>total</th><td class=n>\(escape(report.money(comparison.baseline.cost)))</td><td class=n>\(escape(report.money(report.cost)))</td><td class=n>\(escape(comparison.signed(comparison.delta)))</td></tr></table>\n"
        }
        if let sweep {
            html += "<h2>Sweep of \(escape(sweep.parameter))</h2>\n" + sweepChart(sweep)
            html += "<table><tr><th>\(escape(sweep.parameter))</th><th>decisions</th><th>cost</th></tr>"
            for point in sweep.points {
                html += "<tr><td>\(escape(point.value))</td><td class=n>\(point.decisions)</td><td class=n>\(escape(point.cost))</td></tr>"
            }
            html += "</table>\n"
        }
        return html + "</body></html>\n"
    }

    static func table(_ lines: [Report.Line], _ report: Report) -> String {
        var html = "<table><tr><th>key</th><th>decisions</th><th>cost</th></tr>"
        for line in lines {
            html += "<tr><td>\(escape(line.key))</td><td class=n>\(line.decisions)</td><td class=n>\(escape(report.money(line.cost)))</td></tr>"
        }
        return html + "</table>\n"
    }

    static func section(_ title: String, _ lines: [Report.Line], _ report: Report) -> String {
        lines.isEmpty ? "" : "<h2>\(escape(title))</h2>\n" + table(lines, report)
    }

    /// Weekly cost of the biggest rules as lines (the rest summed as "other rules").
    static func timeChart(_ report: Report) -> String {
        let weeks = report.weeks.map(\.key)
        guard !weeks.isEmpty else { return "<p>No decisions.</p>\n" }
        let top = report.rules.prefix(palette.count - 1).map(\.key)
        var series: [(String, [Int64])] = top.map { rule in (rule, weeks.map { report.byRuleWeek[rule]?[$0] ?? 0 }) }
        let others = report.rules.dropFirst(top.count).map(\.key)
        if !others.isEmpty {
            series.append(("other rules", weeks.map { week in others.reduce(Int64(0)) { $0 + (report.byRuleWeek[$1]?[week] ?? 0) } }))
        }
        let (width, height, left, bottom) = (900, 260, 60, 30)
        let maximum = max(1, series.flatMap(\.1).max() ?? 1)
        func x(_ i: Int) -> Int { left + (weeks.count == 1 ? (width - left) / 2 : i * (width - left - 10) / (weeks.count - 1)) }
        func y(_ v: Int64) -> Int { height - bottom - Int(v * Int64(height - bottom - 10) / maximum) }
        var svg = "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"cost per week\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>"
        svg += "<text x=\"4\" y=\"16\" font-size=\"11\">\(escape(report.money(maximum)))</text>"
        svg += "<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"11\">\(escape(weeks.first ?? ""))</text>"
        svg += "<text x=\"\(width - 70)\" y=\"\(height - 8)\" font-size=\"11\">\(escape(weeks.last ?? ""))</text>"
        for (index, (_, values)) in series.enumerated() {
            let points = values.enumerated().map { "\(x($0.offset)),\(y($0.element))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(palette[index % palette.count])\" stroke-width=\"1.5\" points=\"\(points)\"/>"
        }
        svg += "</svg>\n<div class=legend>"
        for (index, (name, _)) in series.enumerated() {
            svg += "<span><i style=\"background:\(palette[index % palette.count])\"></i>\(escape(name))</span>"
        }
        return svg + "</div>\n"
    }

    /// Horizontal bars of cost per segment (the 20 largest).
    static func barChart(_ lines: [Report.Line], _ report: Report) -> String {
        let shown = Array(lines.prefix(20))
        guard let maximum = shown.map(\.cost).max(), maximum > 0 else { return "" }
        let rowHeight = 18, width = 900, label = 200
        var svg = "<svg width=\"\(width)\" height=\"\(shown.count * rowHeight + 10)\" role=\"img\" aria-label=\"cost by segment\">"
        for (index, line) in shown.enumerated() {
            let length = Int(line.cost * Int64(width - label - 120) / maximum)
            let top = index * rowHeight + 5
            svg += "<text x=\"4\" y=\"\(top + 12)\" font-size=\"11\">\(escape(line.key))</text>"
            svg += "<rect x=\"\(label)\" y=\"\(top)\" width=\"\(max(1, length))\" height=\"\(rowHeight - 4)\" fill=\"\(palette[0])\"/>"
            svg += "<text x=\"\(label + length + 6)\" y=\"\(top + 12)\" font-size=\"11\">\(escape(report.money(line.cost)))</text>"
        }
        return svg + "</svg>\n"
    }

    /// The cost for each value of the swept parameter, as a line.
    static func sweepChart(_ sweep: Sweep) -> String {
        guard sweep.points.count > 0, let maximum = sweep.points.map(\.costMinor).max() else { return "" }
        let (width, height, left, bottom) = (600, 220, 60, 30)
        let top = max(1, maximum)
        func x(_ i: Int) -> Int { left + (sweep.points.count == 1 ? (width - left) / 2 : i * (width - left - 20) / (sweep.points.count - 1)) }
        func y(_ v: Int64) -> Int { height - bottom - Int(v * Int64(height - bottom - 10) / top) }
        var svg = "<svg width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"sweep\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#999\"/>"
        svg += "<polyline fill=\"none\" stroke=\"\(palette[1])\" stroke-width=\"2\" points=\"\(sweep.points.enumerated().map { "\(x($0.offset)),\(y($0.element.costMinor))" }.joined(separator: " "))\"/>"
        for (index, point) in sweep.points.enumerated() {
            svg += "<circle cx=\"\(x(index))\" cy=\"\(y(point.costMinor))\" r=\"3\" fill=\"\(palette[1])\"/>"
            svg += "<text x=\"\(x(index) - 10)\" y=\"\(height - 10)\" font-size=\"11\">\(escape(point.value))</text>"
            svg += "<text x=\"\(x(index) - 20)\" y=\"\(y(point.costMinor) - 8)\" font-size=\"10\">\(escape(point.cost))</text>"
        }
        return svg + "</svg>\n"
    }
}
