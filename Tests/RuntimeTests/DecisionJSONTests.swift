import Foundation
@testable import RedressEngine
import Testing

/// A decision's JSON line, written as bytes (`Decision.jsonLine`, `JSONText.append(_:to:)` into
/// `[UInt8]`): the same text as the string form, escaped as RFC 8259 asks.
@Suite struct DecisionJSONTests {
    static let awkward = ["", "C-10143", "say \"hi\"", "back\\slash", "line\nbreak\r\ttab", "bell\u{07}unit\u{1F}", "Müller ✓ 😀", "ends with \\"]

    @Test func bytesAndStringGiveTheSameQuotedText() throws {
        for text in Self.awkward {
            var bytes: [UInt8] = []
            JSONText.append(text, to: &bytes)
            let quoted = String(decoding: bytes, as: UTF8.self)
            #expect(quoted == JSONText.quote(text))
            // And it reads back as the text it quotes.
            let read = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
            #expect(read == [text])
        }
        var bytes: [UInt8] = []
        JSONText.append("a\u{01}\"b", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\u0001\"b""#)
    }

    @Test func aDecisionLineHasItsKeysInOrderAndReadsBack() throws {
        var decision = Decision(rule: "late_vip", subject: .init(entity: "shipment", key: "S-\"1\""), customer: "C-1\n2",
                                event: .init(type: "shipment.delivered", id: "e\\7", line: 12, time: "2026-06-05T10:00:00Z"),
                                time: "2026-06-05T10:00:00Z",
                                actions: [.init(verb: "refund", amount: "5.00 EUR", argument: nil, channel: nil),
                                          .init(verb: "send", amount: nil, argument: "apology", channel: "email")],
                                occurrence: 1, key: "late_vip|shipment:S-\"1\"|1")
        decision.dimensions = ["not written"]
        let line = decision.jsonLine()
        #expect(line == #"{"rule":"late_vip","subject":{"entity":"shipment","key":"S-\"1\""},"customer":"C-1\n2","#
            + #""event":{"type":"shipment.delivered","id":"e\\7","line":12,"time":"2026-06-05T10:00:00Z"},"time":"2026-06-05T10:00:00Z","#
            + #""actions":[{"verb":"refund","amount":"5.00 EUR"},{"verb":"send","argument":"apology","channel":"email"}],"#
            + #""occurrence":1,"key":"late_vip|shipment:S-\"1\"|1"}"#)
        let read = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((read["subject"] as? [String: String])?["key"] == "S-\"1\"")
        #expect(read["customer"] as? String == "C-1\n2")
        #expect((read["event"] as? [String: Any])?["id"] as? String == "e\\7")
        // No customer: no key at all.
        decision.customer = nil
        #expect(!decision.jsonLine().contains("\"customer\""))
    }
}
