import ArgumentParser
import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressRuntime
import RedressSyntax

enum RolloutFormat: String, ExpressibleByArgument, CaseIterable { case human, json }

/// `redress rollout RULESET RULE [CUSTOMER…] [--events FILE]`: who a `rollout N%` includes.
struct Rollout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say whether customers are in a rule's rollout, and what share of an events file's customers is.",
        discussion: """
            A rule with `rollout 20%` decides for a stable fifth of customers: the choice is a hash of the rule's \
            name and the customer's key, the same in `run`, `simulate` and `test`, and it never changes for a \
            customer. Give customer keys to check them one by one, or --events to count the customers of a \
            history that are in.
            Exit status: 0 done, 1 the rule set has errors, 2 usage or I/O error (including an unknown rule).
            """)

    @Argument(help: "The rule set: a directory of .rules files, or an IR file from `redress compile`.")
    var ruleSet: String

    @Argument(help: "The rule's name (as `redress check --triggers` lists it).")
    var rule: String

    @Argument(help: "Customer keys to check.")
    var customers: [String] = []

    @Option(help: ArgumentHelp("JSON-lines events whose customers (on the rule's triggering events) are counted.", valueName: "FILE"))
    var events: String?

    @Option(help: "Output format: human or json.")
    var format: RolloutFormat = .human

    @Option(help: "Schema file to use instead of the nearest schema.yaml.")
    var schema: String?

    @Option(help: "Catalog file to use instead of the nearest catalog.yaml.")
    var catalog: String?

    func run() throws {
        let program = try RuleSetInput.compile([ruleSet], schema: schema, catalog: catalog)
        guard let membership = RolloutMembership(program: program, rule: rule) else {
            let names = program.rules.map(\.name)
            let near = names.filter { $0.hasPrefix(String(rule.prefix(3))) }.prefix(5)
            Output.error("error: the rule set has no rule `\(TerminalText.visible(rule))`"
                         + (near.isEmpty ? "; `redress check \(ruleSet) --triggers` lists its rules" : "; did you mean \(near.map { "`\($0)`" }.joined(separator: ", "))?"))
            throw ExitCode(2)
        }
        var counted: (customers: Int, included: Int, badLines: Int)? = nil
        if let events { counted = try count(events, membership) }
        let shareText = membership.share.map { ValueText.describe(RuntimeValue(.percent, $0), program: program) }
        switch format {
        case .human:
            var out = shareText.map { "\(rule): rollout \($0) of customers, chosen by a stable hash of the rule's name and the customer's key\n" }
                ?? "\(rule): no rollout; every customer is in\n"
            if membership.customerSlot == nil {
                out += "note: the rule's triggering events carry no customer, so no customer is ever in its rollout\n"
            }
            let width = customers.map { TerminalText.visible($0).count }.max() ?? 0
            for customer in customers {
                let shown = TerminalText.visible(customer)
                out += "  \(shown.padding(toLength: width, withPad: " ", startingAt: 0))  \(membership.includes(customer: customer) ? "in" : "out")\n"
            }
            if let counted, let events {
                let percent = counted.customers == 0 ? "0" : String(format: "%.1f", Double(counted.included) * 100 / Double(counted.customers))
                out += "\(events): \(counted.included) of \(counted.customers) customer\(counted.customers == 1 ? "" : "s") on the rule's events are in (\(percent)%)"
                out += counted.badLines > 0 ? "; \(counted.badLines) line\(counted.badLines == 1 ? "" : "s") could not be read and were not counted\n" : "\n"
            }
            Output.write(out)
        case .json:
            var object: [String: Any] = ["rule": rule, "share": shareText ?? "100%",
                                         "customers": customers.map { ["customer": $0, "in": membership.includes(customer: $0)] }]
            if let counted {
                object["events"] = ["file": events ?? "", "customers": counted.customers, "in": counted.included, "badLines": counted.badLines]
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
            Output.write(String(decoding: data, as: UTF8.self) + "\n")
        }
    }

    /// The distinct customers on the rule's triggering events, and how many of them are in.
    func count(_ path: String, _ membership: RolloutMembership) throws -> (Int, Int, Int) {
        let input = try InputFile.open(path)
        defer { InputFile.close(input) }
        var seen = Set<String>()
        var included = 0, bad = 0
        let source = ReplaySource(programs: [membership.program], descriptor: input, path: path)
        source.read { _, item, _ in
            switch item {
            case .deadLetter: bad += 1
            case .event(let event):
                if let customer = membership.customer(of: event.pointee), seen.insert(customer).inserted, membership.includes(customer: customer) { included += 1 }
            }
            return true
        }
        if let failure = source.failure {
            Output.error("error: cannot read \(path): \(failure)")
            throw ExitCode(2)
        }
        return (seen.count, included, bad)
    }
}
