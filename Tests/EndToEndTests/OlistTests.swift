import Foundation
import Testing

/// `redress run rules/olist --mapping ...` on the real Olist data (../shared/data, read as it is), checked
/// against numbers computed independently from the raw files by Python's csv module: rows, blank rows,
/// dead letters, events, and the decisions of every rule (a small model of the rules in
/// rules/olist/delivery.rules and of the engine's absence deadlines in arrival order).
struct OlistTests {
    static let data = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    static let python = ["/usr/bin/python3", "/usr/local/bin/python3", "/opt/homebrew/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let available = python != nil && FileManager.default.fileExists(atPath: data.appendingPathComponent("olist/orders.csv").path)
        && FileManager.default.fileExists(atPath: data.appendingPathComponent("olist-spreadsheet/orders.csv").path)

    /// The expected counts, from the raw CSV files (not through Redress).
    static let model = #"""
        import csv, json, sys
        from datetime import datetime, timedelta
        from decimal import Decimal
        directory, kind = sys.argv[1], sys.argv[2]
        fmt = '%Y-%m-%d %H:%M:%S' if kind == 'original' else '%m/%d/%Y %H:%M'
        def t(text): return datetime.strptime(text, fmt) if text else None   # all times in one zone: compare as read
        with open(f'{directory}/orders.csv', newline='', encoding='utf-8-sig') as f:
            table = list(csv.reader(f))
        header, body = table[0], table[1:]
        def is_blank(r): return all(c.strip() == '' for c in r)
        blank = [r for r in body if is_blank(r)]
        bad = [r for r in body if not is_blank(r) and len(r) != len(header)]
        orders = [dict(zip(header, r)) for r in body if not is_blank(r) and len(r) == len(header)]
        payments, reviews = {}, {}
        for r in csv.DictReader(open(f'{directory}/order_payments.csv', newline='', encoding='utf-8-sig')):
            if r['order_id']: payments.setdefault(r['order_id'], []).append(r)
        if kind == 'original':
            for r in csv.DictReader(open(f'{directory}/order_reviews.csv', newline='', encoding='utf-8-sig')):
                reviews.setdefault(r['order_id'], []).append(r)
        events, pending, decisions, arrived = 0, [], {}, set()   # arrived: (event, order) seen, for absence rules
        late, clock = 0, None                                     # events behind the latest event time (the watermark)
        def fire(rule): decisions[rule] = decisions.get(rule, 0) + 1
        for o in orders:
            oid, status, promised = o['order_id'], o['order_status'], t(o['order_estimated_delivery_date'])
            shipped, delivered = t(o['order_delivered_carrier_date']), t(o['order_delivered_customer_date'])
            row = [(t(o['order_purchase_timestamp']), 0, 'order.placed')]
            if shipped: row.append((shipped, 1, 'shipment.shipped'))
            if delivered: row.append((delivered, 2, 'shipment.delivered'))
            if oid in reviews: row.append((max(t(r['review_answer_timestamp']) for r in reviews[oid]), 3, 'review.answered'))
            for time, _, event in sorted(row):           # a row's events in time order; rows in file order
                events += 1
                if clock is not None and time < clock: late += 1
                clock = time if clock is None else max(clock, time)
                for deadline, rule, _, _ in pending:      # deadlines before this event's time fire first
                    if deadline < time: fire(rule)
                pending = [p for p in pending if p[0] >= time and not (p[2] == event and p[3] == oid)]
                arrived.add((event, oid))
                # An absence rule whose awaited event already arrived for the order does not wait.
                if event == 'order.placed' and status not in ('canceled', 'unavailable') and ('shipment.shipped', oid) not in arrived:
                    pending.append((promised, 'not_shipped_by_estimate', 'shipment.shipped', oid))
                if event == 'shipment.shipped' and ('shipment.delivered', oid) not in arrived:
                    pending.append((promised, 'not_delivered_by_estimate', 'shipment.delivered', oid))
                if event == 'shipment.delivered' and delivered - promised > timedelta(days=2):
                    fire('late_delivery_refund')
                    if sum(Decimal(p['payment_value']) for p in payments.get(oid, [])) >= 500: fire('late_valuable_order')
                if event == 'review.answered':
                    seen = delivered if delivered and delivered <= time else time
                    if min(int(r['review_score']) for r in reviews[oid]) <= 2 and status not in ('canceled', 'unavailable') and seen > promised:
                        fire('late_delivery_bad_review')
        print(json.dumps({'rows': len(body), 'blank': len(blank), 'bad': len(bad), 'events': events, 'late': late, 'pending': len(pending),
                          'decisions': sum(decisions.values()), 'by_rule': decisions}))
        """#

    struct Expected: Decodable {
        var rows: Int
        var blank: Int
        var bad: Int
        var events: Int
        var late: Int
        var pending: Int
        var decisions: Int
        var by_rule: [String: Int]
    }

    static func expected(_ directory: String, kind: String) throws -> Expected {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python!)
        process.arguments = ["-c", model, data.appendingPathComponent(directory).path, kind]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONDecoder().decode(Expected.self, from: bytes)
    }

    func check(_ directory: String, mapping: String, kind: String) throws {
        let expected = try Self.expected(directory, kind: kind)
        let deadLetters = FileManager.default.temporaryDirectory.appendingPathComponent("olist-dead-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: deadLetters) }
        let result = try redress(["run", "rules/olist", "--events", Self.data.appendingPathComponent("\(directory)/orders.csv").path,
                                  "--mapping", "rules/olist/\(mapping)", "--dead-letters", deadLetters.path])
        #expect(result.status == 0, "\(result.stderr)")
        var summary = "read \(expected.rows) rows (\(expected.blank) blank), \(expected.events) events, \(expected.decisions) decisions"
        if expected.bad > 0 { summary += ", \(expected.bad) bad rows kept in \(deadLetters.path)" }
        if expected.late > 0 { summary += ", \(expected.late) event\(expected.late == 1 ? "" : "s") arrived after the watermark" }
        if expected.pending > 0 { summary += ", \(expected.pending) deadline\(expected.pending == 1 ? "" : "s") pending" }
        // Two years of orders: the retention period (400 days) lets go of keys on the way, and says so.
        let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first == summary || first.hasPrefix(summary + ", retention dropped "), "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == expected.decisions)
        var byRule: [String: Int] = [:]
        for line in lines {
            let decision = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            byRule[decision?["rule"] as? String ?? "?", default: 0] += 1
        }
        #expect(byRule == expected.by_rule)
        let deadLetterLines = (try? String(contentsOf: deadLetters, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(deadLetterLines == expected.bad)
    }

    /// 8,135 orders with payments, customers and reviews joined in; ISO times without offsets.
    @Test(.enabled(if: available, "needs ../shared/data/olist and python3"))
    func originalData() throws {
        try check("olist", mapping: "olist.mapping.yaml", kind: "original")
    }

    /// 9,999 orders as a spreadsheet saved them: M/D/YYYY H:MM, CRLF, 89,442 trailing blank rows.
    @Test(.enabled(if: available, "needs ../shared/data/olist-spreadsheet and python3"))
    func spreadsheetExport() throws {
        try check("olist-spreadsheet", mapping: "spreadsheet.mapping.yaml", kind: "spreadsheet")
    }

    /// The numbers in the table of docs/events.md are the measured ones.
    @Test(.enabled(if: available, "needs ../shared/data and python3"))
    func documentedCountsAreCurrent() throws {
        let doc = read(repositoryRoot.appendingPathComponent("docs/events.md"))
        for (directory, kind) in [("olist", "original"), ("olist-spreadsheet", "spreadsheet")] {
            let e = try Self.expected(directory, kind: kind)
            func grouped(_ n: Int) -> String {
                let digits = String(n)
                return digits.count > 3 ? digits.dropLast(3) + "," + digits.suffix(3) : digits
            }
            let row = "| `\(directory)` | \(grouped(e.rows)) | \(grouped(e.blank)) | \(grouped(e.events)) | \(e.bad) | \(grouped(e.decisions))"
            #expect(doc.contains(row), "docs/events.md should have the row \(row)")
        }
    }

    /// `simulate` on the original Olist data: the decisions per rule of the independent model above,
    /// priced by hand from rules/olist/catalog.yaml (refund 5 BRL + e-mail 0.05; flag handwritten
    /// 8.00; voucher 20 BRL at 40% = 8.00 + e-mail 0.05; notices by e-mail 0.05).
    @Test(.enabled(if: available, "needs ../shared/data/olist and python3"))
    func simulationTotalsMatchAnIndependentComputation() throws {
        let expected = try Self.expected("olist", kind: "original")
        let unitCost: [String: Int] = [
            "late_delivery_refund": 505, "late_valuable_order": 800, "late_delivery_bad_review": 805,
            "not_shipped_by_estimate": 5, "not_delivered_by_estimate": 5,
        ]
        let result = try redress(["simulate", "rules/olist", "--events", Self.data.appendingPathComponent("olist/orders.csv").path,
                                  "--mapping", "rules/olist/olist.mapping.yaml", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["events"] as? Int == expected.events)
        #expect(report["decisions"] as? Int == expected.decisions)
        let byRule = try #require(report["byRule"] as? [[String: Any]])
        var decisions: [String: Int] = [:]
        for line in byRule { decisions[line["key"] as? String ?? ""] = line["decisions"] as? Int }
        #expect(decisions == expected.by_rule)
        let cost = expected.by_rule.reduce(0) { $0 + $1.value * (unitCost[$1.key] ?? 0) }
        #expect(report["costMinor"] as? Int == cost)
        #expect(report["currency"] as? String == "BRL")
    }

    @Test func mappingMistakesAreReportedWithTheirLocation() throws {
        let directory = try temporaryRuleSet(["late.rules": "when shipment.delay > 2d then refund 5 EUR\n"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let mapping = directory.appendingPathComponent("bad.mapping.yaml")
        try "fields:\n  order.id: id\n  shipment.dealy: d\nevents:\n  - { event: order.placed, time: at }\n".write(to: mapping, atomically: true, encoding: .utf8)
        let events = directory.appendingPathComponent("events.csv")
        try "id,at\nO1,2026-11-02 09:00\n".write(to: events, atomically: true, encoding: .utf8)
        let result = try redress(["run", directory.path, "--events", events.path, "--mapping", mapping.path], in: directory)
        #expect(result.status == 2)
        #expect(result.stderr.contains("error[E0201]: entity `shipment` has no field `dealy`"), "\(result.stderr)")
        #expect(result.stderr.contains("bad.mapping.yaml:3:3"))
        #expect(result.stderr.contains("did you mean `shipment.delay`?"))
        #expect(result.stdout.isEmpty)
    }

    /// The shop's rules on a small CSV: the same decisions as from the equivalent JSON lines.
    @Test func csvAndJSONLinesDecideTheSame() throws {
        let directory = try temporaryRuleSet(["late.rules": "when shipment.delay > 2d and customer.tier == VIP then refund 5 EUR, send apology\n"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let mapping = """
            time_format: D.M.YYYY H:mm
            time_zone: "+01:00"
            joins:
              customers: { file: customers.csv, key: id, on: customer }
            fields:
              shipment.id: parcel
              shipment.promised_at: promised
              shipment.delivered_at: delivered
              shipment.delay: { difference: [delivered, promised] }
              order.id: order
              customer.id: customer
              customer.tier: { column: customers.level, values: { gold: VIP, silver: Plus, bronze: Standard } }
            events:
              - { event: shipment.delivered, time: delivered, id: "{parcel}" }
            """
        try mapping.write(to: directory.appendingPathComponent("m.yaml"), atomically: true, encoding: .utf8)
        try "id,level\r\nC1,gold\r\nC2,bronze\r\n".write(to: directory.appendingPathComponent("customers.csv"), atomically: true, encoding: .utf8)
        try "parcel,order,customer,promised,delivered\nS1,O1,C1,5.11.2026 18:00,9.11.2026 14:00\nS2,O2,C2,5.11.2026 18:00,9.11.2026 14:00\nS3,O3,C1,5.11.2026 18:00,6.11.2026 9:00\n"
            .write(to: directory.appendingPathComponent("events.csv"), atomically: true, encoding: .utf8)
        let json = [
            #"{"event":"shipment.delivered","time":"2026-11-09T13:00:00Z","id":"S1","shipment":{"id":"S1","delay":"3d20h"},"order":{"id":"O1"},"customer":{"id":"C1","tier":"VIP"}}"#,
            #"{"event":"shipment.delivered","time":"2026-11-09T13:00:00Z","id":"S2","shipment":{"id":"S2","delay":"3d20h"},"order":{"id":"O2"},"customer":{"id":"C2","tier":"Standard"}}"#,
            #"{"event":"shipment.delivered","time":"2026-11-06T08:00:00Z","id":"S3","shipment":{"id":"S3","delay":"15h"},"order":{"id":"O3"},"customer":{"id":"C1","tier":"VIP"}}"#,
        ].joined(separator: "\n") + "\n"
        try json.write(to: directory.appendingPathComponent("events.jsonl"), atomically: true, encoding: .utf8)
        let fromCSV = try redress(["run", ".", "--events", "events.csv", "--mapping", "m.yaml"], in: directory)
        let fromJSON = try redress(["run", ".", "--events", "events.jsonl"], in: directory)
        #expect(fromCSV.status == 0, "\(fromCSV.stderr)")
        #expect(fromJSON.status == 0, "\(fromJSON.stderr)")
        #expect(fromCSV.stdout.split(separator: "\n").count == 1)
        // Line numbers are the same here (one event per line after the header / one per line).
        let strip = { (text: String) in text.replacingOccurrences(of: #""line":\d+"#, with: "", options: .regularExpression) }
        #expect(strip(fromCSV.stdout) == strip(fromJSON.stdout))
        #expect(fromCSV.stderr.hasPrefix("read 3 rows (0 blank), 3 events, 1 decision\n"), "\(fromCSV.stderr)")
    }
}
