import Foundation
import RedressEvents
import RedressEngine

/// The three renderings of a test run: for people, as JSON (stable, sorted keys, versioned) and
/// as JUnit XML for CI systems. All three are pure functions of the run, so the same tests give
/// the same bytes (no wall-clock times anywhere).
public enum RuleTestReport {
    public static let jsonVersion = 1

    // MARK: - Human

    public static func human(_ run: RuleTestRun, minimumCoverage: Decimal? = nil, verbose: Bool = false, colour: Bool = false) -> String {
        func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var out = ""
        for file in run.files {
            for result in file.cases {
                if result.passed {
                    if verbose { out += paint("PASS", "32") + " \(result.file):\(result.line) \(result.name)\n" }
                    continue
                }
                out += paint("FAIL", "1;31") + " \(result.file):\(result.line) \(result.name)\n"
                out += comparison(result, paint: paint)
            }
        }
        if let coverage = run.coverage { out += coverageText(coverage, minimum: minimumCoverage, paint: paint) }
        out += (run.failed > 0 || run.filesWithErrors > 0 ? paint(summary(run), "1;31") : paint(summary(run), "1;32")) + "\n"
        return out
    }

    /// `3 passed, 1 failed`, and `, 1 file with errors` when test files could not be run.
    public static func summary(_ run: RuleTestRun) -> String {
        var text = "\(run.passed) passed, \(run.failed) failed"
        let errors = run.filesWithErrors
        if errors > 0 { text += ", \(errors) \(errors == 1 ? "file" : "files") with errors" }
        return text
    }

    /// Expected against actual, decision by decision: `-` what the test expects (with its YAML
    /// line), `+` what the engine decided; decisions that agree are shown once, with `=`. Then
    /// each decision a `none: true` expectation forbids, and the decisions of rules the case is
    /// not about (ignored, listed so that a failure can be understood).
    public static func comparison(_ result: RuleTestResult, paint: (String, String) -> String = { text, _ in text }) -> String {
        var out = ""
        let compared = RuleTestRunner.compare(result.expected, result.actual)
        let count = max(compared.expected.count, compared.actual.count)
        if count == 0 && compared.unwanted.isEmpty && result.ignored.isEmpty { return "    (no decisions expected or made)\n" }
        for index in 0..<count {
            let expected = index < compared.expected.count ? compared.expected[index] : nil
            let actual = index < compared.actual.count ? compared.actual[index] : nil
            if let expected, let actual, RuleTestRunner.matches(expected, actual) {
                out += "    = \(describe(actual))\n"
                continue
            }
            out += paint("    - expected  " + (expected.map { "\(describe($0))   (line \($0.line))" } ?? "(no further decision)"), "31") + "\n"
            out += paint("    + actual    " + (actual.map(describe) ?? "(no decision)"), "32") + "\n"
        }
        for (expectation, decision) in compared.unwanted {
            out += paint("    - expected  \(describe(expectation))   (line \(expectation.line))", "31") + "\n"
            out += paint("    + actual    " + describe(decision), "32") + "\n"
        }
        if count == 0 && compared.unwanted.isEmpty { out += "    (no decisions expected or made)\n" }
        if !result.ignored.isEmpty {
            var rules: [String] = []
            for decision in result.ignored where !rules.contains(decision.rule) { rules.append(decision.rule) }
            let what = result.ignored.count == 1 ? "1 decision" : "\(result.ignored.count) decisions"
            out += "    (ignored: \(what) of \(rules.joined(separator: ", ")), not among the rules of this test)\n"
        }
        return out
    }

    public static func describe(_ expected: ExpectedDecision) -> String {
        var text = (expected.absent ? "no decision of " : "") + expected.rule
        if let subject = expected.subject { text += " for \(subject)" }
        var details: [String] = []
        if let customer = expected.customer { details.append("customer \(customer)") }
        if let time = expected.time { details.append("at \(time)") }
        if !details.isEmpty { text += " (\(details.joined(separator: ", ")))" }
        guard let actions = expected.actions else { return expected.absent ? text : text + ": (any actions)" }
        return text + ": " + actions.map(\.text).joined(separator: ", ")
    }

    public static func describe(_ actual: Decision) -> String {
        var details: [String] = []
        if let customer = actual.customer { details.append("customer \(customer)") }
        details.append("at \(actual.time)")
        return "\(actual.rule) for \(actual.subject.key) (\(details.joined(separator: ", "))): " + actual.actions.map(text).joined(separator: ", ")
    }

    static func text(_ action: Decision.Action) -> String {
        [action.verb, action.amount, action.argument, action.channel.map { "via \($0)" }].compactMap { $0 }.joined(separator: " ")
    }

    public static func coverageText(_ coverage: CoverageReport, minimum: Decimal?, paint: (String, String) -> String = { text, _ in text }) -> String {
        var out = ""
        for ruleSet in coverage.ruleSets {
            out += "coverage of \(display(ruleSet.directory)): \(CoverageReport.percentText(ruleSet.covered, ruleSet.total)) (\(ruleSet.covered)/\(ruleSet.total))\n"
            let width = max(4, ruleSet.rules.map(\.rule.count).max() ?? 4)
            out += "  " + "rule".padding(toLength: width, withPad: " ", startingAt: 0) + "  fires  kept  operands decisive\n"
            for rule in ruleSet.rules {
                let counted = rule.operands.filter(\.counted)
                func mark(_ value: Bool?) -> String { value.map { $0 ? paint("✓", "32") : paint("✗", "31") } ?? "-" }
                var line = "  " + rule.rule.padding(toLength: width, withPad: " ", startingAt: 0)
                line += "  " + mark(rule.fires) + "      " + mark(rule.keptFromFiring) + "     "
                line += counted.isEmpty ? "-" : "\(counted.filter(\.decisive).count)/\(counted.count)"
                let never = counted.filter { !$0.decisive }.map(\.text)
                if !never.isEmpty { line += "   never decisive: " + never.joined(separator: "; ") }
                out += line + "\n"
            }
        }
        for directory in coverage.unmeasured {
            out += "coverage of \(display(directory)): " + paint("could not be measured (the rule set has errors)", "1;31") + "\n"
        }
        if !coverage.unmeasured.isEmpty {
            var total = "coverage: " + paint("could not be measured (\(notMeasured(coverage)))", "1;31")
            if let minimum { total += paint(", minimum \(minimum)% not reached", "1;31") }
            return out + total + "\n"
        }
        var total = "coverage: \(CoverageReport.percentText(coverage.covered, coverage.total)) (\(coverage.covered)/\(coverage.total))"
        if let minimum {
            total += coverage.reaches(minimum) ? ", minimum \(minimum)% reached" : paint(", below the minimum of \(minimum)%", "1;31")
        }
        return out + total + "\n"
    }

    /// `rules/broken could not be loaded`: why the total coverage is not known.
    static func notMeasured(_ coverage: CoverageReport) -> String {
        let names = coverage.unmeasured.map(display)
        return (names.count == 1 ? "the rule set " : "the rule sets ") + names.joined(separator: ", ") + (names.count == 1 ? " has errors" : " have errors")
    }

    /// A rule-set directory as printed: `.` for the current directory.
    static func display(_ directory: String) -> String { directory.isEmpty ? "." : directory }

    // MARK: - JSON

    struct JSONRun: Encodable {
        var version: Int
        var summary: JSONSummary
        var files: [JSONFile]
        var coverage: JSONCoverage?
    }
    struct JSONSummary: Encodable { var passed: Int, failed: Int, files: Int, errors: Int }
    struct JSONFile: Encodable { var file: String, ruleSet: String, cases: [JSONCase], diagnostics: [JSONDiagnostic]? }
    struct JSONDiagnostic: Encodable {
        var code: String?
        var message: String
        var file: String?
        var line: Int?
        var column: Int?
        var help: String?
    }
    struct JSONCase: Encodable {
        var name: String, description: String?, line: Int, passed: Bool
        var expected: [JSONExpected]
        var actual: [JSONDecision]
        /// Only for a case about some rules: those rules, and the decisions of others.
        var rules: [String]?
        var ignored: [JSONDecision]?
    }
    struct JSONAction: Encodable { var verb: String, amount: String?, argument: String?, channel: String? }
    struct JSONExpected: Encodable {
        var rule: String, subject: String?, customer: String?, time: String?, actions: [JSONAction]?, line: Int
        /// `none: true` only (left out otherwise).
        var none: Bool?
    }
    struct JSONDecision: Encodable {
        var rule: String, subject: String, customer: String?, time: String, actions: [JSONAction], key: String
    }
    struct JSONCoverage: Encodable {
        var covered: Int, total: Int, percent: String?, minimum: String?, reached: Bool?
        var ruleSets: [JSONRuleSet]
        var unmeasured: [String]?
    }
    struct JSONRuleSet: Encodable {
        var directory: String, covered: Int, total: Int, percent: String
        var rules: [RuleCoverage]
    }

    public static func json(_ run: RuleTestRun, minimumCoverage: Decimal? = nil) -> String {
        func decision(_ decision: Decision) -> JSONDecision {
            JSONDecision(rule: decision.rule, subject: decision.subject.key, customer: decision.customer, time: decision.time,
                         actions: decision.actions.map { JSONAction(verb: $0.verb, amount: $0.amount, argument: $0.argument, channel: $0.channel) },
                         key: decision.key)
        }
        let files = run.files.map { file in
            JSONFile(file: file.path, ruleSet: display(file.ruleSet), cases: file.cases.map { result in
                JSONCase(name: result.name, description: result.description, line: result.line, passed: result.passed,
                         expected: result.expected.map { expected in
                             JSONExpected(rule: expected.rule, subject: expected.subject, customer: expected.customer, time: expected.time,
                                          actions: expected.actions?.map { JSONAction(verb: $0.verb, amount: $0.amount, argument: $0.argument, channel: $0.channel) },
                                          line: expected.line, none: expected.absent ? true : nil)
                         },
                         actual: result.actual.map(decision),
                         rules: result.focus, ignored: result.focus == nil ? nil : result.ignored.map(decision))
            }, diagnostics: file.errors.isEmpty ? nil : file.errors.map {
                JSONDiagnostic(code: $0.code, message: $0.message, file: $0.file, line: $0.line, column: $0.column, help: $0.help)
            })
        }
        let coverage = run.coverage.map { coverage in
            JSONCoverage(covered: coverage.covered, total: coverage.total,
                         percent: coverage.unmeasured.isEmpty ? CoverageReport.percentText(coverage.covered, coverage.total) : nil,
                         minimum: minimumCoverage.map { "\($0)%" }, reached: minimumCoverage.map(coverage.reaches),
                         ruleSets: coverage.ruleSets.map {
                             JSONRuleSet(directory: display($0.directory), covered: $0.covered, total: $0.total,
                                         percent: CoverageReport.percentText($0.covered, $0.total), rules: $0.rules)
                         }, unmeasured: coverage.unmeasured.isEmpty ? nil : coverage.unmeasured.map(display))
        }
        let document = JSONRun(version: jsonVersion, summary: JSONSummary(passed: run.passed, failed: run.failed, files: run.files.count, errors: run.filesWithErrors),
                               files: files, coverage: coverage)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(document) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    // MARK: - JUnit

    /// JUnit XML as CI systems read it: one `<testsuite>` per test file, one `<testcase>` per
    /// case, the comparison in `<failure>`. With coverage, a last suite `coverage` carries the
    /// percentage as properties, the table as `<system-out>`, and a case that fails below the minimum.
    public static func junit(_ run: RuleTestRun, minimumCoverage: Decimal? = nil) -> String {
        var suites = ""
        var tests = 0, failures = 0, errors = 0
        for file in run.files {
            let failed = file.cases.filter { !$0.passed }.count
            let classname = classname(file.path)
            if let first = file.errors.first {
                // A file that could not be run is one test case in error, carrying the diagnostics.
                tests += 1
                errors += 1
                suites += "  <testsuite name=\"\(attribute(file.path))\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0\">\n"
                suites += "    <properties>\n      <property name=\"ruleSet\" value=\"\(attribute(display(file.ruleSet)))\"/>\n    </properties>\n"
                let line = first.file == file.path ? first.line.map { " line=\"\($0)\"" } ?? "" : ""
                suites += "    <testcase name=\"\(attribute(file.path))\" classname=\"\(attribute(classname))\" file=\"\(attribute(file.path))\"\(line) time=\"0\">\n"
                let text = file.errors.map(\.text).joined(separator: "\n")
                suites += "      <error message=\"\(attribute(first.message))\" type=\"\(attribute(first.code ?? "TestFileError"))\">\(escape(text))</error>\n"
                suites += "    </testcase>\n"
                suites += "  </testsuite>\n"
                continue
            }
            tests += file.cases.count
            failures += failed
            suites += "  <testsuite name=\"\(attribute(file.path))\" tests=\"\(file.cases.count)\" failures=\"\(failed)\" errors=\"0\" skipped=\"0\" time=\"0\">\n"
            suites += "    <properties>\n      <property name=\"ruleSet\" value=\"\(attribute(display(file.ruleSet)))\"/>\n    </properties>\n"
            for result in file.cases {
                let attributes = "name=\"\(attribute(result.name))\" classname=\"\(attribute(classname))\" file=\"\(attribute(result.file))\" line=\"\(result.line)\" time=\"0\""
                if result.passed {
                    suites += "    <testcase \(attributes)/>\n"
                } else {
                    let message = "the decisions differ from those expected at \(result.file):\(result.line)"
                    suites += "    <testcase \(attributes)>\n"
                    suites += "      <failure message=\"\(attribute(message))\" type=\"DecisionMismatch\">\(escape(comparison(result)))</failure>\n"
                    suites += "    </testcase>\n"
                }
            }
            suites += "  </testsuite>\n"
        }
        if let coverage = run.coverage {
            let measured = coverage.unmeasured.isEmpty
            let percent = measured ? CoverageReport.percentText(coverage.covered, coverage.total) : "not measured"
            let below = minimumCoverage.map { !coverage.reaches($0) } ?? false
            let count = minimumCoverage == nil ? 0 : 1
            tests += count
            failures += below ? 1 : 0
            suites += "  <testsuite name=\"coverage\" tests=\"\(count)\" failures=\"\(below ? 1 : 0)\" errors=\"0\" skipped=\"0\" time=\"0\">\n"
            suites += "    <properties>\n"
            suites += "      <property name=\"coverage\" value=\"\(percent)\"/>\n"
            suites += "      <property name=\"covered\" value=\"\(coverage.covered)\"/>\n"
            suites += "      <property name=\"total\" value=\"\(coverage.total)\"/>\n"
            if let minimumCoverage { suites += "      <property name=\"minimum\" value=\"\(minimumCoverage)%\"/>\n" }
            for directory in coverage.unmeasured { suites += "      <property name=\"unmeasured\" value=\"\(attribute(display(directory)))\"/>\n" }
            suites += "    </properties>\n"
            if let minimumCoverage {
                let name = "coverage at least \(minimumCoverage)%"
                if !measured {
                    suites += "    <testcase name=\"\(attribute(name))\" classname=\"coverage\" time=\"0\">\n"
                    suites += "      <failure message=\"\(attribute("coverage could not be measured: \(notMeasured(coverage))"))\" type=\"CoverageNotMeasured\"/>\n"
                    suites += "    </testcase>\n"
                } else if below {
                    suites += "    <testcase name=\"\(attribute(name))\" classname=\"coverage\" time=\"0\">\n"
                    suites += "      <failure message=\"\(attribute("coverage \(percent) is below \(minimumCoverage)%"))\" type=\"CoverageBelowMinimum\"/>\n"
                    suites += "    </testcase>\n"
                } else {
                    suites += "    <testcase name=\"\(attribute(name))\" classname=\"coverage\" time=\"0\"/>\n"
                }
            }
            suites += "    <system-out>\(escape(coverageText(coverage, minimum: minimumCoverage)))</system-out>\n"
            suites += "  </testsuite>\n"
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<testsuites name=\"redress test\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"0\">\n"
            + suites + "</testsuites>\n"
    }

    /// `rules/shop/delivery.test.yaml` → `rules.shop.delivery`: the dotted form CI tools group by.
    static func classname(_ path: String) -> String {
        var name = path
        for suffix in [".test.yaml", ".test.yml", ".yaml", ".yml"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return name.replacingOccurrences(of: "/", with: ".")
    }

    /// Escaping for an XML attribute value: as `escape`, and tab, newline and carriage return as
    /// character references, which attribute-value normalisation would otherwise turn into spaces.
    public static func attribute(_ text: String) -> String {
        var out = ""
        for scalar in escape(text).unicodeScalars {
            switch scalar {
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// XML text and attribute escaping; characters XML 1.0 cannot hold at all become U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
