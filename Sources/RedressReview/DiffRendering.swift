import Foundation

/// `redress diff` output: Markdown for a pull-request comment, and versioned JSON.
extension RuleSetDiff {
    /// One line: `2 rules changed, 1 added, 1 removed; projected cost +1,234.50 EUR (+12.3%) over 1,000 events`.
    public var summaryLine: String {
        var parts: [String] = []
        let s = summary
        if s.changed > 0 { parts.append("\(s.changed) rule\(s.changed == 1 ? "" : "s") changed") }
        if s.renamed > 0 { parts.append("\(s.renamed) renamed") }
        if s.added > 0 { parts.append("\(s.added) added") }
        if s.removed > 0 { parts.append("\(s.removed) removed") }
        if parts.count == 1, s.changed == 0 {
            // `1 added` alone does not say what was added.
            parts[0] = parts[0].replacingOccurrences(of: " ", with: s.renamed + s.added + s.removed == 1 ? " rule " : " rules ")
        }
        var text = parts.joined(separator: ", ")
        var shared: [String] = []
        if s.declarations > 0 { shared.append("\(s.declarations) shared declaration\(s.declarations == 1 ? "" : "s") changed") }
        if s.catalog > 0 { shared.append("\(s.catalog) catalog cost\(s.catalog == 1 ? "" : "s") changed") }
        if !shared.isEmpty { text += (text.isEmpty ? "" : "; ") + shared.joined(separator: ", ") }
        if text.isEmpty { text = "no semantic changes" }
        if let cost {
            text += "; projected cost \(cost.delta)" + (cost.deltaPercent.map { " (\($0))" } ?? "")
                + " over \(RuleSetDiff.grouped(cost.events)) event\(cost.events == 1 ? "" : "s")"
        }
        return text
    }

    static func grouped(_ number: Int) -> String {
        var digits = String(number.magnitude), text = ""
        while digits.count > 3 {
            text = "," + digits.suffix(3) + text
            digits = String(digits.dropLast(3))
        }
        return (number < 0 ? "-" : "") + digits + text
    }

    public func markdown() -> String {
        var out = "## Rule changes: `\(old)` → `\(new)`\n\n"
        out += summaryLine.prefix(1).uppercased() + summaryLine.dropFirst() + ".\n"
        func section(_ title: String, _ rules: [RuleChange]) {
            guard !rules.isEmpty else { return }
            out += "\n### \(title)\n"
            for rule in rules {
                out += "\n#### `\(rule.name)`"
                if let oldName = rule.oldName { out += " (was `\(oldName)`)" }
                out += " — \(rule.file)\n\n"
                for change in rule.changes where change.kind != "name" { out += "- \(change.text)\n" }
                if rule.status == .renamed, rule.changes.count == 1 { out += "- renamed only; nothing else changed\n" }
                if let source = rule.source { out += "```\n\(source)```\n" }
            }
        }
        section("Changed", rules.filter { $0.status == .changed || $0.status == .renamed })
        section("Added", rules.filter { $0.status == .added })
        section("Removed", rules.filter { $0.status == .removed })
        if !declarations.isEmpty {
            out += "\n### Parameters, definitions, tables, groups and policies\n\n"
            for declaration in declarations {
                for change in declaration.changes {
                    out += "- \(change.text)"
                    if !declaration.usedBy.isEmpty { out += " (used by " + declaration.usedBy.map { "`\($0)`" }.joined(separator: ", ") + ")" }
                    out += "\n"
                }
            }
        }
        if !catalog.isEmpty {
            out += "\n### Catalog\n\n"
            for change in catalog { out += "- \(change.text)\n" }
        }
        if let cost {
            out += "\n### Projected cost\n\n"
            out += "Replayed \(RuleSetDiff.grouped(cost.events)) event\(cost.events == 1 ? "" : "s")"
                + (cost.deadLetters > 0 ? " (\(RuleSetDiff.grouped(cost.deadLetters)) unreadable, left out)" : "")
                + " through both versions; costs in \(cost.currency) from the catalog.\n\n"
            out += "| rule | decisions before | decisions after | cost before | cost after | difference |\n"
            out += "| --- | ---: | ---: | ---: | ---: | ---: |\n"
            for row in cost.byRule {
                let name = "`\(row.rule)`" + (row.oldName.map { " (was `\($0)`)" } ?? "")
                out += "| \(name) | \(RuleSetDiff.grouped(row.oldDecisions)) | \(RuleSetDiff.grouped(row.decisions)) | \(row.oldCost) | \(row.cost) | \(row.delta) |\n"
            }
            out += "| **total** | **\(RuleSetDiff.grouped(cost.oldDecisions))** | **\(RuleSetDiff.grouped(cost.decisions))** | **\(cost.oldCost)** | **\(cost.cost)** | **\(cost.delta)"
                + (cost.deltaPercent.map { " (\($0))" } ?? "") + "** |\n"
        }
        return out
    }

    /// Sorted keys and fixed list orders: the same rule sets give the same bytes.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }
}
