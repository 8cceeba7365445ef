import Foundation
import RedressIR
import RedressEvents
import RedressEngine
import RedressSemantics
import RedressSyntax

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func shopSource(_ name: String) -> SourceFile {
    let path = "rules/shop/\(name)"
    return SourceFile(path: path, text: (try? String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)) ?? "")
}

/// Compiles rules against the example shop's schema and catalog.
func compile(_ rules: String) -> Program? {
    let report = RuleSetLoader.check(rules: [SourceFile(path: "t.rules", text: rules)], schema: shopSource("schema.yaml"),
                                     catalog: shopSource("catalog.yaml"))
    if report.diagnostics.contains(where: { $0.severity == .error }) {
        print(DiagnosticRenderer(files: report.sources).human(report.diagnostics))
        return nil
    }
    return Program.compile(report).0
}

/// Feeds JSON-line events through one engine; returns the decisions and dead letters.
struct Run {
    var decisions: [Decision] = []
    var deadLetters: [DeadLetter] = []
    var engine: Engine
}

func run(_ program: Program, _ lines: [String], engine existing: Engine? = nil) -> Run {
    let engine = existing ?? Engine(program: program)
    let reader = EventReader(program: program)
    var result = Run(engine: engine)
    var event = Event(slotCount: program.slots.count)
    for (index, line) in lines.enumerated() {
        var copy = line
        let failure = copy.withUTF8 { reader.read($0, number: index + 1, into: &event) }
        if let failure {
            result.deadLetters.append(DeadLetter(line: index + 1, reason: failure, text: line))
            continue
        }
        result.decisions += engine.process(event)
    }
    return result
}

/// Builders for the shop's events; only what rules read needs to be there.
enum Shop {
    static func customer(_ id: String, tier: String = "VIP", country: String = "DE", channel: String? = nil) -> String {
        "\"customer\":{\"id\":\"\(id)\",\"tier\":\"\(tier)\",\"country\":\"\(country)\"" + (channel.map { ",\"preferred_channel\":\"\($0)\"" } ?? "") + "}"
    }

    static func delivered(_ time: String, shipment: String = "S1", order: String = "O1", customer: String = "C1", tier: String = "VIP",
                          delay: String? = "3d", total: String = "50.00 EUR", extra: String = "") -> String {
        let delayField = delay.map { ",\"delay\":\"\($0)\"" } ?? ""
        return "{\"event\":\"shipment.delivered\",\"time\":\"\(time)\",\"shipment\":{\"id\":\"\(shipment)\"\(delayField)\(extra)},"
            + "\"order\":{\"id\":\"\(order)\",\"total\":\"\(total)\"},\(Self.customer(customer, tier: tier))}"
    }

    static func shipped(_ time: String, shipment: String = "S1", order: String = "O1", customer: String = "C1", tier: String = "VIP") -> String {
        "{\"event\":\"shipment.shipped\",\"time\":\"\(time)\",\"shipment\":{\"id\":\"\(shipment)\"},\"order\":{\"id\":\"\(order)\"},\(Self.customer(customer, tier: tier))}"
    }

    static func placed(_ time: String, order: String = "O1", customer: String = "C1", total: String = "50.00 EUR") -> String {
        "{\"event\":\"order.placed\",\"time\":\"\(time)\",\"order\":{\"id\":\"\(order)\",\"total\":\"\(total)\"},\(Self.customer(customer))}"
    }

    static func returned(_ time: String, id: String, reason: String = "wrong_size", customer: String = "C1") -> String {
        "{\"event\":\"return.registered\",\"time\":\"\(time)\",\"return\":{\"id\":\"\(id)\",\"reason\":\"\(reason)\"},\"order\":{\"id\":\"O-\(id)\"},\(Self.customer(customer))}"
    }
}
