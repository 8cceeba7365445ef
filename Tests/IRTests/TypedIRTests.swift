import Foundation
import Testing
@testable import RedressIR
import RedressSemantics

/// The IR is typed (issue 13, point 9): operators, functions, cost models and argument kinds are
/// enums, decoded loudly; the JSON writes them as the language does.
struct TypedIRTests {
    @Test func operatorsAreTypedAndWrittenAsTheLanguageWritesThem() throws {
        let program = try #require(compile("param cut = 10 EUR / 3\nrule r on order.placed when order.total > cut * 2 and order.item_count >= 2 then refund min(order.total, 5 EUR)"))
        let condition = try #require(program.rules.first?.condition)
        let comparisons = collect(condition) { $0.comparison }
        #expect(comparisons.contains(.greater) && comparisons.contains(.greaterEqual))
        #expect(collect(condition) { $0.arithmeticOperator } == [.times])
        let json = String(decoding: program.json(), as: UTF8.self)
        #expect(json.contains("\"symbol\" : \">\"") && json.contains("\"symbol\" : \"*\"") && json.contains("\"symbol\" : \"min\""), "\(json.prefix(400))")
        #expect(json.contains("\"version\" : 2"))
    }

    @Test func costModelsAndArgumentKindsAreKept() throws {
        let program = try compileShop()
        let byName = Dictionary(program.catalog.actions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byName["refund"]?.cost == .amount && byName["refund"]?.argument == .money)
        #expect(byName["send"]?.argument == .template)
        #expect(byName["flag"]?.argument == .tag)
        #expect(byName["points"]?.argument == .integer)
    }

    @Test func anUnknownSymbolOrAnOldVersionIsRefusedLoudly() throws {
        let program = try #require(compile("rule r on order.placed when order.total > 5 EUR then refund 1 EUR"))
        let json = String(decoding: program.json(), as: UTF8.self)
        let unknown = json.replacingOccurrences(of: "\"symbol\" : \">\"", with: "\"symbol\" : \"≫\"")
        #expect(unknown != json)
        #expect(throws: Program.LoadError.self) { try Program.load(json: Data(unknown.utf8)) }
        let old = json.replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : 1")
        do {
            _ = try Program.load(json: Data(old.utf8))
            Issue.record("version 1 was accepted")
        } catch {
            #expect("\(error)".contains("compile the rules again"))
        }
    }

    func collect<T>(_ node: Node, _ pick: (Node) -> T?) -> [T] {
        (pick(node).map { [$0] } ?? []) + node.children.flatMap { collect($0, pick) }
    }
}
