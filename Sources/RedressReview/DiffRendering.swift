import Foundation
import RedressSyntax

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
        if s.schema > 0 { shared.append("\(s.schema) schema change\(s.schema == 1 ? "" : "s")") }
        if s.catalog > 0 { shared.append("\(s.catalog) catalog change\(s.catalog == 1 ? "" : "s")") }
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

    /// The diff as Markdown for a pull-request comment. Everything that comes from the rule
    /// files (names, paths, descriptions, values) is escaped (see `MarkdownText`): a rule set
    /// under review must not be able to put links, images or HTML into the comment.
    public func markdown() -> String {
        typealias M = MarkdownText
        var out = "## Rule changes: \(M.code(old)) → \(M.code(new))\n\n"
        out += M.prose(summaryLine.prefix(1).uppercased() + summaryLine.dropFirst()) + ".\n"
        func section(_ title: String, _ rules: [RuleChange]) {
            guard !rules.isEmpty else { return }
            out += "\n### \(title)\n"
            for rule in rules {
                out += "\n#### \(M.code(rule.name))"
                if let oldName = rule.oldName { out += " (was \(M.code(oldName)))" }
                out += " — \(M.prose(rule.file))\n\n"
                for change in rule.changes where change.kind != "name" { out += "- \(M.sentence(change.text))\n" }
                if rule.status == .renamed, rule.changes.count == 1 { out += "- renamed only; nothing else changed\n" }
                if let source = rule.source { out += M.fenced(source) }
            }
        }
        section("Changed", rules.filter { $0.status == .changed || $0.status == .renamed })
        section("Added", rules.filter { $0.status == .added })
        section("Removed", rules.filter { $0.status == .removed })
        if !declarations.isEmpty {
            out += "\n### Parameters, definitions, tables, groups and policies\n\n"
            for declaration in declarations {
                for change in declaration.changes {
                    out += "- \(M.sentence(change.text))"
                    if !declaration.usedBy.isEmpty { out += " (used by " + declaration.usedBy.map { M.code($0) }.joined(separator: ", ") + ")" }
                    out += "\n"
                }
            }
        }
        if !schema.isEmpty || !catalog.isEmpty {
            out += "\n### Schema and catalog\n\n"
            for change in schema + catalog {
                out += "- \(M.sentence(change.text))"
                // A channel or an entity many rules use would fill the comment: the first eight, and
                // how many more (the JSON lists them all).
                if let usedBy = change.usedBy {
                    let shown = usedBy.prefix(8).map { M.code($0) }.joined(separator: ", ")
                    out += " (used by " + shown + (usedBy.count > 8 ? " and \(usedBy.count - 8) more" : "") + ")"
                }
                out += "\n"
            }
        }
        if let cost {
            out += "\n### Projected cost\n\n"
            out += "Replayed \(RuleSetDiff.grouped(cost.events)) event\(cost.events == 1 ? "" : "s")"
                + (cost.deadLetters > 0 ? " (\(RuleSetDiff.grouped(cost.deadLetters)) unreadable, left out)" : "")
                + " through both versions; costs in \(M.prose(cost.currency)) from the catalog.\n\n"
            out += "| rule | decisions before | decisions after | cost before | cost after | difference |\n"
            out += "| --- | ---: | ---: | ---: | ---: | ---: |\n"
            for row in cost.byRule {
                let name = M.code(row.rule, inTable: true) + (row.oldName.map { " (was \(M.code($0, inTable: true)))" } ?? "")
                out += "| \(name) | \(RuleSetDiff.grouped(row.oldDecisions)) | \(RuleSetDiff.grouped(row.decisions)) | \(M.prose(row.oldCost)) | \(M.prose(row.cost)) | \(M.prose(row.delta)) |\n"
            }
            out += "| **total** | **\(RuleSetDiff.grouped(cost.oldDecisions))** | **\(RuleSetDiff.grouped(cost.decisions))** | **\(M.prose(cost.oldCost))** | **\(M.prose(cost.cost))** | **\(M.prose(cost.delta))"
                + (cost.deltaPercent.map { " (\(M.prose($0)))" } ?? "") + "** |\n"
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

/// Text from rule files made safe for Markdown (GitHub-flavoured, as pull-request comments
/// render it): what is shown is exactly what was written, and nothing in it is read as markup.
public enum MarkdownText {
    /// A code span showing `content` as it is. Its fence is one backtick longer than the
    /// longest run of backticks inside, with a space of padding where the content starts or
    /// ends with a backtick (CommonMark strips that space again). Control characters and line
    /// breaks are spelled out as `\u{1B}`; in a table cell, `|` is escaped as the table needs.
    public static func code(_ content: String, inTable: Bool = false) -> String {
        var text = DiagnosticRenderer.visible(content)
        if inTable { text = text.replacingOccurrences(of: "|", with: "\\|") }
        var longest = 0, run = 0
        for character in text {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: longest + 1)
        let padded = text.isEmpty || text.first == "`" || text.last == "`"
            || (text.first == " " && text.last == " " && text.contains { $0 != " " })
        let padding = padded ? " " : ""
        return fence + padding + text + padding + fence
    }

    /// Characters that Markdown may read as markup outside code: escapes, code, emphasis,
    /// strikethrough, links and images, HTML and entities, table cells, headings and math.
    static let markup: Set<Unicode.Scalar> = ["\\", "`", "*", "~", "[", "]", "<", ">", "&", "|", "#", "$", "@"]

    /// Plain text with every markup character backslash-escaped (CommonMark allows that for
    /// any ASCII punctuation), and bare URLs (`https://…`, `www.…`) kept from becoming links.
    public static func prose(_ text: String) -> String {
        let scalars = Array(DiagnosticRenderer.visible(text).unicodeScalars)
        var out = String.UnicodeScalarView()
        func isWordCharacter(_ scalar: Unicode.Scalar?) -> Bool {
            scalar.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) } ?? false
        }
        for (index, scalar) in scalars.enumerated() {
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            let previous = index > 0 ? scalars[index - 1] : nil
            let escaped = markup.contains(scalar)
                // `_` inside a word (`delay_notice`) can neither open nor close emphasis.
                || (scalar == "_" && !(isWordCharacter(previous) && isWordCharacter(next)))
                || (scalar == ":" && next == "/")
                || (scalar == "." && index >= 3 && String(String.UnicodeScalarView(scalars[(index - 3)..<index])).lowercased() == "www")
            if escaped { out.append("\\") }
            out.append(scalar)
        }
        return String(out)
    }

    /// A change sentence as `RuleSetDiff.Change.text` writes it — words, with code between
    /// single backticks — as safe Markdown. Code from a rule can itself hold backticks, but only
    /// inside a string literal, so a backtick inside double quotes does not end a code span; a
    /// string literal outside code (a table value, an action's argument) becomes a code span.
    /// A sentence that does not split that way is shown as plain text.
    public static func sentence(_ text: String) -> String {
        var out = "", piece = String.UnicodeScalarView()
        var inCode = false, inString = false, escaping = false
        func flush(asCode: Bool) {
            out += asCode ? code(String(piece)) : prose(String(piece))
            piece = String.UnicodeScalarView()
        }
        for scalar in text.unicodeScalars {
            if inString {
                piece.append(scalar)
                if escaping {
                    escaping = false
                } else if scalar == "\\" {
                    escaping = true
                } else if scalar == "\"" {
                    inString = false
                    if !inCode { flush(asCode: true) }
                }
            } else if scalar == "\"" {
                if !inCode { flush(asCode: false) }
                inString = true
                piece.append(scalar)
            } else if scalar == "`" {
                if inCode || !piece.isEmpty { flush(asCode: inCode) }
                inCode.toggle()
            } else {
                piece.append(scalar)
            }
        }
        guard !inCode, !inString else { return prose(text) }
        if !piece.isEmpty { flush(asCode: false) }
        return out
    }

    /// A fenced code block holding `source`, with a fence longer than any run of backticks in it.
    public static func fenced(_ source: String) -> String {
        var longest = 0, run = 0
        for character in source {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        return fence + "\n" + source + (source.hasSuffix("\n") ? "" : "\n") + fence + "\n"
    }
}
