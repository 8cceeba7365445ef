import Foundation
import Testing

/// The documentation stays true (issue 15, point 11): every relative link in README.md,
/// docs/*.md and rules/**/*.md leads somewhere (and its `#anchor` to a heading, as GitHub
/// names headings); no command that exists is called planned; and speed figures are those of
/// Benchmarks/README.md, where they are measured.
struct DocumentationTests {
    /// README.md, docs/*.md and every Markdown file under rules/, relative to the repository root.
    static let documents: [String] = {
        var paths = ["README.md"]
        let manager = FileManager.default
        let docs = (try? manager.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("docs").path)) ?? []
        paths += docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        let rules = manager.enumerator(atPath: repositoryRoot.appendingPathComponent("rules").path)
        var found: [String] = []
        while let path = rules?.nextObject() as? String { if path.hasSuffix(".md") { found.append("rules/" + path) } }
        return paths + found.sorted()
    }()

    struct Link: CustomStringConvertible {
        var document: String
        var line: Int
        var target: String
        var description: String { "\(document):\(line): \(target)" }
    }

    /// The document without its fenced code blocks (their lines kept, empty, so line numbers
    /// stay right) and without inline code spans — or, with `keepingCode`, with the code spans'
    /// text and without their backticks (as a heading's anchor reads it): links and headings
    /// only count in prose.
    static func prose(_ text: String, keepingCode: Bool = false) -> [String] {
        var lines: [String] = []
        var fence: String? = nil
        for line in text.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                if trimmed.hasPrefix(open) && trimmed.allSatisfy({ $0 == open.first }) { fence = nil }
                lines.append("")
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = String(trimmed.prefix { $0 == trimmed.first })
                lines.append("")
                continue
            }
            lines.append(withoutCodeSpans(line, keepingContent: keepingCode))
        }
        return lines
    }

    /// A line with its code spans (`` `…` ``, ``` `` … `` ```) removed, or only their backticks.
    static func withoutCodeSpans(_ line: String, keepingContent: Bool = false) -> String {
        var out = "", characters = Array(line), index = 0
        while index < characters.count {
            guard characters[index] == "`" else {
                out.append(characters[index])
                index += 1
                continue
            }
            var run = 0
            while index + run < characters.count, characters[index + run] == "`" { run += 1 }
            // The span ends at the next run of exactly as many backticks.
            var end = index + run, closed: Int? = nil
            while end < characters.count {
                if characters[end] == "`" {
                    var other = 0
                    while end + other < characters.count, characters[end + other] == "`" { other += 1 }
                    if other == run { closed = end + other; break }
                    end += other
                } else {
                    end += 1
                }
            }
            guard let closed else {
                out += String(characters[index..<(index + run)])
                index += run
                continue
            }
            if keepingContent { out += String(characters[(index + run)..<(closed - run)]) }
            index = closed
        }
        return out
    }

    /// Inline links and images `[text](target "title")` and reference definitions `[id]: target`.
    static func links(in document: String) -> [Link] {
        let text = read(repositoryRoot.appendingPathComponent(document))
        var links: [Link] = []
        let inline = try! NSRegularExpression(pattern: #"\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#)
        let reference = try! NSRegularExpression(pattern: #"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)"#)
        for (number, line) in prose(text).enumerated() {
            let range = NSRange(line.startIndex..., in: line)
            for match in inline.matches(in: line, range: range) + reference.matches(in: line, range: range) {
                if let target = Range(match.range(at: 1), in: line) {
                    links.append(Link(document: document, line: number + 1, target: String(line[target])))
                }
            }
        }
        return links
    }

    /// The anchors GitHub gives a document's headings: the heading's text lowercased, without
    /// punctuation (what is not a letter, a digit, a space, `-` or `_`), spaces made hyphens, and
    /// `-1`, `-2`, … after a repeated one.
    static func anchors(of document: URL) -> Set<String> {
        var anchors: Set<String> = []
        var seen: [String: Int] = [:]
        for line in prose(read(document), keepingCode: true) {
            let hashes = line.prefix { $0 == "#" }.count
            guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { continue }
            var title = line.dropFirst(hashes).trimmingCharacters(in: .whitespaces)
            // A closing sequence of `#`s is not part of the heading.
            while title.hasSuffix("#") { title.removeLast() }
            // Links in headings keep their text.
            title = title.replacingOccurrences(of: #"\[([^\]]*)\]\([^)]*\)"#, with: "$1", options: .regularExpression)
            let slug = String(title.trimmingCharacters(in: .whitespaces).lowercased().unicodeScalars.compactMap { scalar -> Character? in
                if scalar == " " { return "-" }
                if scalar == "-" || scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil { return Character(scalar) }
                return nil
            })
            let count = seen[slug, default: 0]
            seen[slug] = count + 1
            anchors.insert(count == 0 ? slug : "\(slug)-\(count)")
        }
        return anchors
    }

    @Test func thereAreDocumentsToCheck() {
        #expect(Self.documents.contains("README.md") && Self.documents.contains("docs/language.md"))
        #expect(Self.documents.contains("rules/shop/README.md") && Self.documents.contains("rules/olist/README.md"))
        // The links are found: in prose, not in code.
        #expect(Self.links(in: "README.md").contains { $0.target == "docs/language.md" })
        #expect(Self.links(in: "docs/language.md").contains { $0.target == "../rules/shop/README.md" })
        #expect(Self.links(in: "docs/cli.md").contains { $0.target == "#redress-run" })
    }

    @Test(arguments: documents)
    func everyRelativeLinkResolves(_ document: String) throws {
        let directory = repositoryRoot.appendingPathComponent(document).deletingLastPathComponent()
        for link in Self.links(in: document) {
            // Web addresses and mail are not checked here (no network in tests).
            if link.target.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*:"#, options: .regularExpression) != nil { continue }
            let parts = link.target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let path = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let target = path.isEmpty ? repositoryRoot.appendingPathComponent(document) : directory.appendingPathComponent(path).standardizedFileURL
            #expect(target.path.hasPrefix(repositoryRoot.standardizedFileURL.path), "\(link) leads out of the repository")
            #expect(FileManager.default.fileExists(atPath: target.path), "\(link): no such file")
            guard parts.count == 2, target.pathExtension == "md", FileManager.default.fileExists(atPath: target.path) else { continue }
            let anchors = Self.anchors(of: target)
            #expect(anchors.contains(String(parts[1])), "\(link): no heading with that anchor; the headings are \(anchors.sorted())")
        }
    }

    /// The slugs the link check relies on, as GitHub makes them.
    @Test func anchorsAreGitHubHeadingSlugs() throws {
        let file = scratchPath("anchors", ".md")
        try """
            # The `redress` command
            ## `redress simulate` against DuckDB (issue #4)
            ## Saved by policies, and out of season
            ## Parameters, definitions and tables
            ### In conditions: three-valued logic
            ## Money
            ## Money
            ```
            # not a heading
            ```
            """.write(to: file, atomically: true, encoding: .utf8)
        #expect(Self.anchors(of: file) == ["the-redress-command", "redress-simulate-against-duckdb-issue-4", "saved-by-policies-and-out-of-season",
                                           "parameters-definitions-and-tables", "in-conditions-three-valued-logic", "money", "money-1"])
    }

    /// `simulate`, `diff` and the other commands exist: no document calls them planned, or
    /// something for later.
    @Test(arguments: documents)
    func noCommandThatExistsIsCalledPlanned(_ document: String) {
        for (number, line) in Self.prose(read(repositoryRoot.appendingPathComponent(document))).enumerated() {
            let lower = line.lowercased()
            for phrase in ["planned", "not yet implemented", "not implemented yet", "in the future", "will be implemented", "coming soon"] {
                #expect(!lower.contains(phrase), "\(document):\(number + 1): \(line)")
            }
        }
    }

    /// Speed is measured in Benchmarks/README.md; docs/ quote no figures of their own (they
    /// would fall behind), and where they speak of speed they link there.
    @Test(arguments: documents.filter { $0.hasPrefix("docs/") })
    func docsQuoteNoSpeedFiguresOfTheirOwn(_ document: String) {
        let text = Self.prose(read(repositoryRoot.appendingPathComponent(document))).joined(separator: "\n")
        for pattern in [#"\d×"#, #"\d(\.\d+)?x (faster|slower)"#, #"events/s\b"#, #"evaluations/s\b"#, #"\d s (against|for \d)"#] {
            #expect(text.range(of: pattern, options: .regularExpression) == nil, "\(document) quotes a speed (\(pattern)); link to Benchmarks/README.md instead")
        }
        if text.localizedCaseInsensitiveContains("duckdb") {
            #expect(text.contains("../Benchmarks/README.md"), "\(document) compares with DuckDB without linking Benchmarks/README.md")
        }
    }

    @Test func simulationDocsLinkToTheBenchmarks() {
        let text = read(repositoryRoot.appendingPathComponent("docs/simulation.md"))
        #expect(text.contains("](../Benchmarks/README.md#redress-simulate-against-duckdb-issue-4)"))
    }

    /// README.md sums the benchmarks up: its ratio of `simulate` to DuckDB is the range of the
    /// ratios Benchmarks/README.md measured, over as many runs.
    @Test func readmeQuotesTheBenchmarksRatio() throws {
        let benchmarks = read(repositoryRoot.appendingPathComponent("Benchmarks/README.md"))
        let readme = read(repositoryRoot.appendingPathComponent("README.md"))
        func numbers(after pattern: String) -> [Decimal] {
            guard let range = benchmarks.range(of: pattern, options: .regularExpression) else { return [] }
            return benchmarks[range].split { !"0123456789.".contains($0) }.compactMap { Decimal(string: String($0).trimmingCharacters(in: CharacterSet(charactersIn: "."))) }
        }
        // `ratio simulate / DuckDB: 0.87` in the measured run, `ratios 0.84, 0.90, …` in the runs after it.
        let first = numbers(after: #"ratio simulate / DuckDB: \d+\.\d+"#)
        let more = numbers(after: #"ratios (\d+\.\d+,?\s*)+"#)
        let ratios = first + more
        try #require(first.count == 1 && !more.isEmpty, "Benchmarks/README.md no longer reads as this test expects")
        let low = try #require(ratios.min()), high = try #require(ratios.max())
        let words = [1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten",
                     11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen", 16: "sixteen", 17: "seventeen", 18: "eighteen",
                     19: "nineteen", 20: "twenty"]
        /// Two decimals, as the benchmarks write ratios (`0.80`).
        func shown(_ value: Decimal) -> String {
            var text = "\(value)"
            if !text.contains(".") { text += "." }
            while text.count - (text.firstIndex(of: ".").map { text.distance(from: text.startIndex, to: $0) } ?? 0) < 3 { text += "0" }
            return text
        }
        let expected = "ratio \(shown(low))–\(shown(high)) over \(words[ratios.count] ?? String(ratios.count)) runs"
        #expect(readme.contains(expected), "README.md should say \(expected) (Benchmarks/README.md)")
    }

    /// CI runs the README's test command, exactly: the last line of .ci/run is the README's line
    /// marked `# the tests (what .ci/run runs)`, without that comment.
    @Test func continuousIntegrationRunsTheReadmesTestCommand() throws {
        let readme = read(repositoryRoot.appendingPathComponent("README.md"))
        let marker = "# the tests (what .ci/run runs)"
        let line = try #require(readme.split(separator: "\n").first { $0.hasSuffix(marker) }, "README.md has no line marked `\(marker)`")
        let command = line.dropLast(marker.count).trimmingCharacters(in: .whitespaces)
        let script = read(repositoryRoot.appendingPathComponent(".ci/run")).split(separator: "\n").map(String.init)
        #expect(script.last == command, ".ci/run must end with the README's test command")
        // The browser tests need Chromium, its driver and Selenium; the command installs them when missing.
        #expect(command.hasPrefix(".ci/test-tools && "))
        let tools = read(repositoryRoot.appendingPathComponent(".ci/test-tools"))
        #expect(tools.contains("apt-get install -y -qq chromium chromium-driver") && tools.contains("selenium==4.51.0"))
    }
}
