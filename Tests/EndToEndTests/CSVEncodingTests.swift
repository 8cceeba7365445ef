import Foundation
import Testing

/// Invalid UTF-8 in a CSV row is a bad row, as in a JSON line (issue 12, item 7): two order ids
/// that differ only in bytes that are not UTF-8 must never become one key.
@Suite struct CSVEncodingTests {
    static let olist = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/olist")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: olist.appendingPathComponent("orders.csv").path), "needs ../shared/data/olist"))
    func aRowThatIsNotUTF8IsABadRow() throws {
        let lines = try Data(contentsOf: Self.olist.appendingPathComponent("orders.csv")).split(separator: 10, omittingEmptySubsequences: false)
        var rows = Array(lines.prefix(11)).map { Array($0) }
        // Row 3 (line 4): the first byte of its order id replaced by 0xFF.
        if let quote = rows[3].firstIndex(of: UInt8(ascii: "\"")) { rows[3][quote + 1] = 0xFF } else { rows[3][0] = 0xFF }
        let directory = scratchPath("csv-utf8")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let orders = directory.appendingPathComponent("orders.csv")
        try Data(rows.map { Data($0) }.joined(separator: Data([10])) + Data([10])).write(to: orders)
        let deadLetters = directory.appendingPathComponent("dl.jsonl")
        let result = try redress(["run", "rules/olist", "--events", orders.path, "--mapping", "rules/olist/olist.mapping.yaml",
                                  "--join", "payments=\(Self.olist.appendingPathComponent("order_payments.csv").path)",
                                  "--join", "reviews=\(Self.olist.appendingPathComponent("order_reviews.csv").path)",
                                  "--join", "customers=\(Self.olist.appendingPathComponent("customers.csv").path)",
                                  "--dead-letters", deadLetters.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("read 10 rows (0 blank)") && result.stderr.contains("1 bad row kept in"), "\(result.stderr)")
        #expect(read(deadLetters).contains("\"line\":4") && read(deadLetters).contains("invalid UTF-8 at byte"), "\(read(deadLetters))")
    }
}
