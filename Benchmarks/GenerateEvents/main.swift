// Writes a deterministic stream of shop events as JSON lines, for benchmarks and large tests.
//
//     .build/release/GenerateEvents [count] [seed] > events.jsonl
//
// Deliveries (most events), orders and returns for a few thousand customers, about one event
// a minute; a sixth of the deliveries are more than two days late, a third of customers are VIP.
//
//     .build/release/GenerateEvents --shop COUNT [--seed N] > history.jsonl
//
// writes instead a realistic history of the example shop that satisfies the whole rules/shop
// schema (see `ShopHistory` below); rules/shop/events/history.jsonl is made this way.
import Foundation

if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "--shop" {
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    var shopCount: Int? = nil, shopSeed: UInt64? = 1
    var position = 0
    while position < arguments.count {
        if arguments[position] == "--seed", position + 1 < arguments.count {
            shopSeed = UInt64(arguments[position + 1])
            position += 2
        } else {
            shopCount = shopCount == nil ? Int(arguments[position]) : nil
            position += 1
        }
    }
    guard let shopCount, shopCount > 0, shopCount <= 10_000_000, let shopSeed else {
        FileHandle.standardError.write(Data("usage: GenerateEvents --shop COUNT [--seed N]\n".utf8))
        exit(2)
    }
    var history = ShopHistory(seed: shopSeed)
    FileHandle.standardOutput.write(Data(history.generate(shopCount).utf8))
    exit(0)
}

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
/// SplitMix64: fast, and the same numbers on every machine.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func pick(_ n: UInt64) -> Int { Int(next() % n) }
}
var random = SplitMix(state: CommandLine.arguments.count > 2 ? UInt64(CommandLine.arguments[2]) ?? 1 : 1)
@MainActor func pick(_ n: UInt64) -> Int { random.pick(n) }

func timestamp(_ seconds: Int64) -> String {
    let days = seconds / 86_400, rest = seconds % 86_400
    let z = days + 719_468, era = z / 146_097, doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(year)-\(two(month))-\(two(day))T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
}

let tiers = ["Standard", "Standard", "Plus", "VIP", "VIP", "Plus"]
let countries = ["DE", "AT", "CH", "FR", "NL", "IT", "ES", "PL"]
let delays = ["-1d", "-4h", "2h", "1d", "1d12h", "2d", "3d", "5d", "-2d", "6h", "12h", "2d6h"]
let carriers = ["DHL", "DPD", "Hermes", "GLS", "UPS", "PostNL", "Colissimo", "InPost", "Austrian_Post", "Swiss_Post"]
let payments = ["card", "paypal", "invoice", "installments", "direct_debit"]
var time: Int64 = 1_767_225_600
var out = ""
out.reserveCapacity(1 << 22)
let stdout = FileHandle.standardOutput
for i in 0..<count {
    time += Int64(pick(90)) + 1
    let customer = pick(200_000)
    let tier = tiers[customer % tiers.count]
    let country = countries[customer % countries.count]
    let stamp = timestamp(time)
    switch pick(10) {
    case 0, 1:
        out += "{\"event\":\"order.placed\",\"time\":\"\(stamp)\",\"id\":\"e\(i)\",\"order\":{\"id\":\"O\(i)\",\"total\":\"\(pick(400) + 5).\(pick(90) + 10) EUR\"},\"customer\":{\"id\":\"C\(customer)\",\"tier\":\"\(tier)\",\"country\":\"\(country)\"}}\n"
    case 2:
        out += "{\"event\":\"return.registered\",\"time\":\"\(stamp)\",\"id\":\"e\(i)\",\"return\":{\"id\":\"R\(i)\",\"reason\":\"\(pick(3) == 0 ? "wrong_size" : "changed_mind")\"},\"order\":{\"id\":\"O\(i - 7)\"},\"customer\":{\"id\":\"C\(customer)\",\"tier\":\"\(tier)\",\"country\":\"\(country)\"}}\n"
    default:
        out += "{\"event\":\"shipment.delivered\",\"time\":\"\(stamp)\",\"id\":\"e\(i)\",\"shipment\":{\"id\":\"S\(i)\",\"delay\":\"\(delays[pick(UInt64(delays.count))])\",\"carrier\":\"\(carriers[pick(10)])\"},\"order\":{\"id\":\"O\(i - 3)\",\"total\":\"\(pick(400) + 5).\(pick(90) + 10) EUR\",\"payment_method\":\"\(payments[pick(5)])\"},\"customer\":{\"id\":\"C\(customer)\",\"tier\":\"\(tier)\",\"country\":\"\(country)\"}}\n"
    }
    if out.utf8.count > 1 << 22 {
        stdout.write(Data(out.utf8))
        out.removeAll(keepingCapacity: true)
    }
}
stdout.write(Data(out.utf8))

// MARK: - `--shop COUNT [--seed N]`: a shop history for `redress simulate rules/shop`
//
// About COUNT events over nine weeks (2 November 2026 to 3 January 2027), sorted by time, that
// satisfy the whole rules/shop schema: every event type, every field the schema does not mark
// optional on every entity an event carries. Orders of a few hundred customers (some order again
// and again; a few return wrong sizes serially), their checkout sessions, packing, split
// shipments, parcels with carrier exceptions, long-tailed delays and a few losses, returns and
// their processing, payment reminders, NPS answers, and video rentals with their playback
// sessions. A Black Friday peak (with a packing backlog and a Monday delivery wave) and the
// Christmas rush (carrier capacity, parcels late for Christmas) are part of the story.
// Deterministic: SplitMix64 from the seed, integer arithmetic, no Foundation randomness.
//
//     swift run GenerateEvents --shop 4000 --seed 7 > rules/shop/events/history.jsonl

struct ShopHistory {
    static let day: Int64 = 86_400
    static let hour: Int64 = 3_600
    static let minute: Int64 = 60
    /// 2026-11-02T00:00:00Z, a Monday.
    static let start: Int64 = 1_793_577_600
    /// Orders are placed up to 23 December; the export ends on 3 January 2027 at midnight.
    static let lastOrderDay = 51
    static let end: Int64 = start + 63 * day

    var random: SplitMix
    var events: [(time: Int64, sequence: Int, text: String)] = []
    var customers: [Customer] = []
    var orderNumber = 0, shipmentNumber = 0, returnNumber = 0, surveyNumber = 0, paymentNumber = 0
    var rentalNumber = 0, playbackNumber = 0, checkoutNumber = 0

    init(seed: UInt64) { random = SplitMix(state: seed) }

    // MARK: Random helpers

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : random.pick(UInt64(n)) }
    mutating func between(_ low: Int64, _ high: Int64) -> Int64 { high <= low ? low : low + Int64(below(Int(high - low + 1))) }
    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func weighted<T>(_ options: [(T, Int)]) -> T {
        var roll = below(options.reduce(0) { $0 + $1.1 })
        for (value, weight) in options {
            if roll < weight { return value }
            roll -= weight
        }
        return options[options.count - 1].0
    }
    mutating func element<T>(_ options: [T]) -> T { options[below(options.count)] }

    // MARK: Text

    static func money(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : "", value = abs(cents)
        let rest = value % 100
        return "\(sign)\(value / 100).\(rest < 10 ? "0" : "")\(rest) EUR"
    }
    static func duration(_ seconds: Int64) -> String {
        if seconds == 0 { return "0m" }
        var rest = abs(seconds), text = seconds < 0 ? "-" : ""
        for (unit, size) in [("d", day), ("h", hour), ("m", minute), ("s", Int64(1))] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
    static func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A JSON object written field by field, in the schema's order; `nil` values are left out
    /// (optional fields that are missing).
    struct Object {
        var text = "{"
        mutating func add(_ key: String, raw: String?) {
            guard let raw else { return }
            if text.count > 1 { text += "," }
            text += "\"\(key)\":\(raw)"
        }
        mutating func string(_ key: String, _ value: String?) { add(key, raw: value.map(ShopHistory.quoted)) }
        mutating func time(_ key: String, _ value: Int64?) { add(key, raw: value.map { "\"\(timestamp($0))\"" }) }
        mutating func integer(_ key: String, _ value: Int64) { add(key, raw: "\(value)") }
        mutating func bool(_ key: String, _ value: Bool) { add(key, raw: value ? "true" : "false") }
        mutating func money(_ key: String, _ cents: Int64) { add(key, raw: "\"\(ShopHistory.money(cents))\"") }
        mutating func duration(_ key: String, _ seconds: Int64?) { add(key, raw: seconds.map { "\"\(ShopHistory.duration($0))\"" }) }
        var json: String { text + "}" }
    }

    mutating func emit(_ type: String, at time: Int64, _ entities: [(String, String)]) {
        guard time <= Self.end else { return }
        var line = "{\"event\":\"\(type)\",\"time\":\"\(timestamp(time))\",\"id\":\"#ID#\""
        for (name, json) in entities { line += ",\"\(name)\":\(json)" }
        events.append((time, events.count, line + "}"))
    }

    // MARK: Customers

    struct Customer {
        var id: String, email: String, phone: String?, tier: String, country: String, channel: String?
        var smsOptIn: Bool, registeredAt: Int64, birthday: String?, segments: [String]
        var orderCount: Int64, lifetimeValue: Int64
        var serialReturner: Bool, regular: Bool, streams: Bool
    }

    static let countries: [(String, Int)] = [("DE", 48), ("AT", 8), ("CH", 6), ("FR", 10), ("NL", 8), ("BE", 4), ("LU", 1),
                                              ("IT", 7), ("ES", 6), ("PL", 4), ("CZ", 2), ("DK", 2), ("SE", 2)]
    static let dialling = ["DE": "+49 15", "AT": "+43 66", "CH": "+41 7", "FR": "+33 6", "NL": "+31 6", "BE": "+32 47", "LU": "+352 621",
                           "IT": "+39 3", "ES": "+34 6", "PL": "+48 5", "CZ": "+420 7", "DK": "+45 2", "SE": "+46 7"]
    static let firstNames = ["anna", "lukas", "marie", "felix", "sophie", "jonas", "emma", "paul", "lea", "noah", "julia", "elias", "laura",
                             "louis", "chloe", "matteo", "giulia", "lucia", "pablo", "zofia", "jan", "freja", "emil", "sanne", "thomas"]
    static let lastNames = ["mueller", "schmidt", "weber", "fischer", "wagner", "becker", "huber", "meier", "martin", "bernard", "jansen",
                            "peeters", "rossi", "garcia", "nowak", "novak", "nielsen", "svensson", "dubois", "bauer", "keller", "wolf"]
    static let segmentNames = ["fashion", "shoes", "sports", "kids", "home", "newsletter", "outlet"]

    mutating func makeCustomers(_ count: Int) {
        for index in 0..<count {
            let country = weighted(Self.countries)
            let tier = weighted([("Standard", 58), ("Plus", 29), ("VIP", 13)])
            let number = 10_001 + index
            let hasPhone = chance(70)
            var phone: String? = nil
            if hasPhone { phone = (Self.dialling[country] ?? "+49 15") + "\(between(10_000_000, 99_999_999))" }
            let channel: String? = chance(40) ? nil : weighted([("email", 42), ("app", 25), ("sms", hasPhone ? 17 : 0), ("whatsapp", hasPhone ? 12 : 0), ("letter", 4)])
            var segments: [String] = []
            for name in Self.segmentNames where chance(name == "fashion" ? 70 : 25) { segments.append(name) }
            let registered = Self.start - between(20, 2_400) * Self.day - between(0, 23) * Self.hour
            let past = tier == "VIP" ? between(12, 60) : tier == "Plus" ? between(4, 25) : between(0, 8)
            let birthday: String? = chance(55) ? "\(between(1950, 2006))-\(Self.two(between(1, 12)))-\(Self.two(between(1, 28)))" : nil
            customers.append(Customer(
                id: "C-\(number)", email: "\(element(Self.firstNames)).\(element(Self.lastNames))\(number % 1000)@example.com",
                phone: phone, tier: tier, country: country, channel: channel, smsOptIn: hasPhone && chance(60),
                registeredAt: registered, birthday: birthday, segments: segments, orderCount: past,
                lifetimeValue: past * between(4_000, 12_000), serialReturner: false, regular: tier == "VIP" ? chance(45) : chance(12),
                streams: chance(30)))
        }
        // A few serial size returners: regulars who order fashion and send most of it back.
        for _ in 0..<max(3, count / 40) {
            let index = below(count)
            customers[index].serialReturner = true
            customers[index].regular = true
        }
    }

    func customerJSON(_ c: Customer) -> String {
        var o = Object()
        o.string("id", c.id); o.string("email", c.email); o.string("phone", c.phone); o.string("tier", c.tier)
        o.string("country", c.country); o.string("preferred_channel", c.channel); o.bool("sms_opt_in", c.smsOptIn)
        o.time("registered_at", c.registeredAt); o.string("birthday", c.birthday)
        o.add("segments", raw: "[" + c.segments.map(ShopHistory.quoted).joined(separator: ",") + "]")
        o.integer("order_count", c.orderCount); o.money("lifetime_value", c.lifetimeValue)
        return o.json
    }

    mutating func pickCustomer() -> Int {
        let regulars = customers.indices.filter { customers[$0].regular }
        if !regulars.isEmpty, chance(45) { return regulars[below(regulars.count)] }
        return below(customers.count)
    }

    // MARK: Calendar

    /// Relative order volume of day `d` (0 = Monday 2 November).
    static func volume(_ d: Int) -> Int {
        switch d {
        case 25: return 130         // Black Friday
        case 26, 27: return 60      // the weekend after
        case 28: return 55          // Cyber Monday
        case 21...24: return 14     // the week before
        case 29...34: return 13
        case 35...46: return 15     // Christmas shopping, up to the 18 December promise
        case 47...51: return 9
        default: return d % 7 == 5 ? 8 : d % 7 == 6 ? 12 : 10
        }
    }

    /// The next time at or after `time` that a carrier delivers: 8:00 to 20:00, Monday to Saturday.
    mutating func deliveryTime(_ time: Int64) -> Int64 {
        var t = time
        let hour = (t % Self.day) / Self.hour
        if hour >= 20 { t = (t / Self.day + 1) * Self.day + between(8 * 60, 13 * 60) * Self.minute }
        else if hour < 8 { t = (t / Self.day) * Self.day + between(8 * 60, 13 * 60) * Self.minute }
        // No deliveries on Sundays, Christmas Day, Boxing Day and New Year's Day.
        while [53, 54, 60].contains((t - Self.start) / Self.day) || ((t - Self.start) / Self.day) % 7 == 6 { t += Self.day }
        return t
    }

    static func promiseDays(_ country: String) -> Int64 {
        switch country {
        case "DE": return 2
        case "AT", "NL", "BE", "LU": return 3
        case "CH", "FR", "DK", "CZ", "PL": return 4
        default: return 5
        }
    }

    static let carriers: [String: [(String, Int)]] = [
        "DE": [("DHL", 50), ("DPD", 15), ("Hermes", 20), ("GLS", 10), ("UPS", 5)],
        "AT": [("Austrian_Post", 60), ("DPD", 25), ("DHL", 15)], "CH": [("Swiss_Post", 75), ("DHL", 25)],
        "FR": [("Colissimo", 60), ("DPD", 25), ("UPS", 15)], "NL": [("PostNL", 70), ("DHL", 30)],
        "BE": [("PostNL", 50), ("DPD", 30), ("DHL", 20)], "LU": [("PostNL", 50), ("DHL", 50)],
        "IT": [("GLS", 40), ("DHL", 35), ("UPS", 25)], "ES": [("GLS", 40), ("DHL", 35), ("UPS", 25)],
        "PL": [("InPost", 70), ("DPD", 30)], "CZ": [("DPD", 60), ("GLS", 40)], "DK": [("GLS", 60), ("DHL", 40)],
        "SE": [("PostNL", 30), ("DHL", 40), ("UPS", 30)],
    ]

    // MARK: Orders

    struct Order {
        var id: String, customer: Int, placedAt: Int64, total: Int64, shippingFee: Int64, items: Int64, payment: String
        var country: String, express: Bool, promised: Int64, packedAt: Int64?, shipments: Int64, coupon: String?
    }

    func orderJSON(_ o: Order, customerID: String) -> String {
        var j = Object()
        j.string("id", o.id); j.string("customer_id", customerID); j.time("placed_at", o.placedAt); j.money("total", o.total)
        j.money("shipping_fee", o.shippingFee); j.integer("item_count", o.items); j.string("payment_method", o.payment)
        j.string("shipping_country", o.country); j.bool("express", o.express); j.time("promised_delivery_at", o.promised)
        j.time("packed_at", o.packedAt); j.duration("time_to_pack", o.packedAt.map { $0 - o.placedAt })
        j.integer("shipment_count", o.shipments); j.string("coupon_code", o.coupon)
        return j.json
    }

    mutating func placeOrder(day d: Int) {
        let index = pickCustomer()
        customers[index].orderCount += 1
        let hourOfDay = weighted([(7, 2), (9, 5), (11, 6), (12, 7), (14, 6), (17, 7), (19, 10), (20, 12), (21, 11), (22, 7), (23, 3)])
        let placedAt = Self.start + Int64(d) * Self.day + Int64(hourOfDay) * Self.hour + between(0, 59) * Self.minute
        let customer = customers[index]
        let country = chance(95) ? customer.country : weighted(Self.countries)
        let items = customer.serialReturner ? between(2, 5) : weighted([(Int64(1), 35), (2, 30), (3, 18), (4, 9), (5, 5), (6, 3)])
        var subtotal: Int64 = 0
        for _ in 0..<items { subtotal += weighted([(between(990, 2_999), 40), (between(3_000, 7_999), 40), (between(8_000, 19_999), 17), (between(20_000, 49_999), 3)]) }
        if chance(3) { subtotal += between(45_000, 89_900) }   // a coat, a bike, a watch: status updates by SMS
        let express = chance(8)
        let fee: Int64 = express ? 990 : subtotal >= 5_000 ? 0 : 490
        let payment = weighted([("card", 38), ("paypal", 30), ("invoice", 16), ("installments", 7), ("direct_debit", 9)])
        var promiseDay = Int64(d) + (express ? 1 : Self.promiseDays(country)) + (hourOfDay >= 14 ? 1 : 0)
        // On the Black Friday weekend the checkout promises delivery counted from Monday's collection.
        if (25...27).contains(d) || (d == 28 && hourOfDay < 6) { promiseDay = 28 + Self.promiseDays(country) - 1 }
        if promiseDay % 7 == 6 { promiseDay += 1 }
        let promised = Self.start + promiseDay * Self.day + 20 * Self.hour
        let coupon: String? = (25...28).contains(d) && chance(40) ? "BLACKWEEK26" : chance(8) ? element(["WELCOME10", "XMAS15", "NEWSLETTER5"]) : nil
        orderNumber += 1
        let split = items >= 2 && chance(customer.serialReturner ? 4 : 9)
        var order = Order(id: "O-\(500_000 + orderNumber)", customer: index, placedAt: placedAt, total: subtotal + fee, shippingFee: fee,
                          items: items, payment: payment, country: country, express: express, promised: promised, packedAt: nil,
                          shipments: 1, coupon: coupon)
        customers[index].lifetimeValue += order.total
        let customerText = customerJSON(customers[index])
        var orderText = orderJSON(order, customerID: customer.id)

        // The shop session that ended in this order.
        checkoutNumber += 1
        let peak = (25...28).contains(d)
        let slow = chance(peak ? 30 : 6)
        var session = Object()
        session.string("id", "K-\(700_000 + checkoutNumber)")
        session.string("device", weighted([("web_mobile", 42), ("web_desktop", 26), ("ios_app", 18), ("android_app", 14)]))
        session.time("started_at", placedAt - between(3, 45) * Self.minute); session.time("completed_at", placedAt)
        session.add("page_load", raw: "\"\(slow ? between(4_100, 9_500) : between(700, 3_600))ms\"")
        session.integer("searches_before_cart", chance(9) ? between(3, 8) : weighted([(Int64(0), 55), (1, 30), (2, 15)]))
        session.integer("payment_errors", chance(5) ? between(1, 3) : 0); session.money("cart_value", subtotal)
        emit("checkout.completed", at: placedAt, [("checkout", session.json), ("order", orderText), ("customer", customerText)])
        emit("order.placed", at: placedAt, [("order", orderText), ("customer", customerText)])

        if split {
            order.shipments = items >= 4 && chance(30) ? 3 : 2
            orderText = orderJSON(order, customerID: customer.id)
            emit("order.split", at: placedAt + between(10, 180) * Self.minute, [("order", orderText), ("customer", customerText)])
        }

        // Packing: hours, sometimes more than the 24-hour KPI; a backlog after Black Friday.
        var pack = weighted([(between(60, 20 * 60), 96), (between(24 * 60 + 10, 40 * 60), 4)])
        if (25...27).contains(d), chance(20) { pack = between(20 * 60, 40 * 60) }
        if d >= 40, chance(8) { pack = between(24 * 60 + 10, 36 * 60) }
        let packedAt = placedAt + pack * Self.minute
        order.packedAt = packedAt
        orderText = orderJSON(order, customerID: customer.id)
        emit("order.packed", at: packedAt, [("order", orderText), ("customer", customerText)])

        // Parcels.
        var lastDelivery: Int64? = nil
        var worstDelay: Int64 = Int64.min
        var lost = false
        for parcel in 1...order.shipments {
            shipmentNumber += 1
            let carrier = weighted(Self.carriers[country] ?? [("DHL", 1)])
            var shippedAt = packedAt + between(30, 5 * 60) * Self.minute + (parcel > 1 ? between(2, 6) * Self.day : 0)
            // No collections on Sundays; on the Black Friday weekend the carriers collect nothing
            // until Monday morning, so the whole weekend goes out at once.
            let packedDay = Int((shippedAt - Self.start) / Self.day)
            if (25...27).contains(packedDay) || (packedDay == 28 && (shippedAt - Self.start) % Self.day < 6 * Self.hour) {
                shippedAt = Self.start + 28 * Self.day + between(6 * 60, 9 * 60) * Self.minute
            } else if packedDay % 7 == 6 {
                shippedAt = Self.start + Int64(packedDay + 1) * Self.day + between(6 * 60, 9 * 60) * Self.minute
            }
            let promisedAt = parcel == 1 ? promised : max(promised, shippedAt + Self.promiseDays(country) * Self.day)
            // Transit: mostly as promised, a long tail of late parcels; peaks are slower.
            // Collected today, delivered one (Germany) to four days later, in the daytime.
            let transitDays = max(1, Self.promiseDays(country) - 1 - (express ? 1 : 0))
            let arrival = (shippedAt / Self.day + transitDays) * Self.day + between(8 * 60, 19 * 60) * Self.minute
            var extra = weighted([(between(-8, 4), 80), (between(4, 30), 12), (between(30, 70), 5), (between(70, 140), 2), (between(140, 280), 1)]) * Self.hour
            let shippedDay = Int((shippedAt - Self.start) / Self.day)
            let christmasRush = (44...52).contains(shippedDay)
            if christmasRush, chance(30) { extra += between(20, 90) * Self.hour }
            if (25...30).contains(shippedDay), chance(20) { extra += between(10, 40) * Self.hour }
            let deliveredAt = deliveryTime(max(shippedAt + 14 * Self.hour, arrival + extra))
            let delay = deliveredAt - promisedAt
            let weight = between(2, 60)
            let value = order.total / order.shipments
            var shipment = Object()
            func base(_ s: inout Object) {
                s.string("id", "S-\(800_000 + shipmentNumber)"); s.string("order_id", order.id); s.integer("parcel_number", parcel)
                s.string("carrier", carrier); s.string("tracking_number", "\(carrier.prefix(2).uppercased())\(40_000_000_000 + Int64(shipmentNumber) * 7_919)")
                s.string("destination_country", country); s.add("weight_kg", raw: "\(weight / 10).\(weight % 10)"); s.money("value", value)
                s.time("shipped_at", shippedAt); s.time("promised_at", promisedAt)
            }
            base(&shipment)
            emit("shipment.shipped", at: shippedAt, [("shipment", shipment.json), ("order", orderText), ("customer", customerText)])

            if chance(1), chance(60) {
                // Lost in the network: the carrier gives up after a week.
                lost = true
                let lostAt = shippedAt + between(6, 9) * Self.day + between(0, 8) * Self.hour
                var s = Object(); base(&s)
                s.time("exception_at", lostAt - 2 * Self.day); s.string("exception_reason", "carrier_delay")
                emit("shipment.lost", at: lostAt, [("shipment", s.json), ("order", orderText), ("customer", customerText)])
                continue
            }
            var exceptionAt: Int64? = nil, reason: String? = nil, predicted: Int64? = nil
            if (extra > 20 * Self.hour && chance(65)) || chance(3) {
                let at = shippedAt + between(3, max(4, (deliveredAt - shippedAt) / Self.hour - 6)) * Self.hour
                exceptionAt = at
                reason = extra > 20 * Self.hour
                    ? weighted([("carrier_delay", 45), ("weather", 12), ("capacity_peak", christmasRush ? 40 : 8), ("address_problem", 8),
                                ("customs", country == "CH" ? 40 : 0), ("damaged_in_transit", 4)])
                    : weighted([("recipient_absent", 70), ("address_problem", 30)])
                predicted = deliveredAt + between(-6, 4) * Self.hour
                var s = Object(); base(&s)
                s.time("predicted_delivery_at", predicted); s.time("exception_at", exceptionAt); s.string("exception_reason", reason)
                emit("shipment.exception", at: at, [("shipment", s.json), ("order", orderText), ("customer", customerText)])
            }
            var s = Object(); base(&s)
            s.time("predicted_delivery_at", predicted); s.time("exception_at", exceptionAt); s.string("exception_reason", reason)
            s.time("delivered_at", deliveredAt); s.duration("delay", delay)
            emit("shipment.delivered", at: deliveredAt, [("shipment", s.json), ("order", orderText), ("customer", customerText)])
            lastDelivery = max(lastDelivery ?? deliveredAt, deliveredAt)
            worstDelay = max(worstDelay, delay)
        }

        // A return of (part of) the order.
        var returned: Int64? = nil
        if let delivered = lastDelivery, chance(customer.serialReturner ? 80 : 17) {
            returnNumber += 1
            let reason = customer.serialReturner && chance(85) ? "wrong_size"
                : weighted([("wrong_size", 34), ("changed_mind", 18), ("poor_quality", 10), ("not_as_described", 10), ("damaged", 6),
                            ("wrong_item", 5), ("late_delivery", worstDelay > Self.day ? 40 : 1), ("other", 4)])
            let registeredAt = delivered + between(6, 14 * 24) * Self.hour
            returned = registeredAt
            let count = between(1, items)
            let returnCarrier = country == "DE" ? weighted([("DHL", 60), ("Hermes", 40)]) : weighted(Self.carriers[country] ?? [("DHL", 1)])
            var r = Object()
            let rid = "R-\(900_000 + returnNumber)"
            func base(_ r: inout Object) {
                r.string("id", rid); r.string("order_id", order.id); r.time("registered_at", registeredAt); r.string("reason", reason)
                r.integer("item_count", count); r.money("value", (order.total - order.shippingFee) * count / items); r.string("carrier", returnCarrier)
            }
            base(&r)
            emit("return.registered", at: registeredAt, [("return", r.json), ("order", orderText), ("customer", customerText)])
            let receivedAt = registeredAt + between(20, 96) * Self.hour
            let backlog = ((registeredAt - Self.start) / Self.day) >= 38
            let refundedAt = receivedAt + weighted([(between(2, 48), 70), (between(48, 120), backlog ? 35 : 20), (between(120, 240), 8)]) * Self.hour
            var p = Object(); base(&p)
            p.time("received_at", receivedAt); p.time("refunded_at", refundedAt); p.duration("processing_time", refundedAt - registeredAt)
            emit("return.processed", at: refundedAt, [("return", p.json), ("order", orderText), ("customer", customerText)])
        }

        // An open invoice that is not paid on time.
        if payment == "invoice" || payment == "installments", chance(returned != nil ? 70 : 25) {
            paymentNumber += 1
            let dueAt = placedAt + (payment == "invoice" ? 14 : 30) * Self.day
            var j = Object()
            j.string("id", "P-\(600_000 + paymentNumber)"); j.string("order_id", order.id); j.string("method", payment)
            j.money("amount_due", payment == "invoice" ? order.total : order.total / 3); j.time("due_at", dueAt); j.integer("reminder_level", 0)
            emit("payment.reminder_due", at: dueAt + between(2, 4) * Self.day + 8 * Self.hour, [("payment", j.json), ("order", orderText), ("customer", customerText)])
        }

        // An NPS answer: late, lost and split orders are rated lower.
        if let delivered = lastDelivery ?? (lost ? placedAt + 10 * Self.day : nil), chance(24) {
            surveyNumber += 1
            let unhappy = lost || worstDelay > Self.day
            let nps: Int64 = unhappy ? weighted([(between(0, 6), 65), (between(7, 8), 25), (between(9, 10), 10)])
                : weighted([(between(0, 6), 12), (between(7, 8), 28), (between(9, 10), 60)])
            var s = Object()
            s.string("id", "N-\(300_000 + surveyNumber)"); s.string("order_id", chance(70) ? order.id : nil)
            let answeredAt = delivered + between(20, 6 * 24) * Self.hour
            s.time("answered_at", answeredAt); s.integer("nps", nps)
            s.string("reason", chance(40) ? (unhappy ? weighted([("delivery_time", 70), ("customer_service", 15), ("other", 15)])
                                                     : weighted([("product_quality", 30), ("price", 25), ("size_and_fit", 20), ("website", 10), ("returns_process", 10), ("split_delivery", order.shipments > 1 ? 30 : 0), ("other", 5)])) : nil)
            s.string("comment", chance(20) ? (unhappy ? element(["Parcel came days late.", "Nobody told me it would be late.", "Waited all week."])
                                                      : element(["Great quality.", "Fast delivery, thanks!", "Sizes run small.", "Good prices."])) : nil)
            emit("survey.answered", at: answeredAt, [("survey", s.json), ("customer", customerText)])
        }
    }

    // MARK: Streaming

    static let titles = ["The Long Winter", "Harbour Lights", "Paper Moons", "Nordic Noir S1", "The Last Train", "Kitchen Wars",
                         "Alpine Rescue", "Quiet Streets", "Neon Tide", "A Christmas Detour", "Small Hours", "The Cartographer"]

    mutating func rent(day d: Int) {
        let streamers = customers.indices.filter { customers[$0].streams }
        guard !streamers.isEmpty else { return }
        let index = streamers[below(streamers.count)]
        rentalNumber += 1
        let quality = weighted([("SD", 15), ("HD", 60), ("UHD", 25)])
        let price: Int64 = quality == "SD" ? 299 : quality == "HD" ? element([399, 499]) : 599
        let rentedAt = Self.start + Int64(d) * Self.day + between(17 * 60, 23 * 60) * Self.minute
        var rental = Object()
        rental.string("id", "V-\(100_000 + rentalNumber)"); rental.string("title", element(Self.titles)); rental.money("price", price)
        rental.time("rented_at", rentedAt); rental.time("expires_at", rentedAt + 48 * Self.hour); rental.string("quality", quality)
        let customerText = customerJSON(customers[index])
        var startedAt = rentedAt + between(1, 30) * Self.minute
        let sessions = weighted([(1, 60), (2, 30), (3, 10)])
        let device = weighted([("smart_tv", 40), ("web_desktop", 15), ("ios_app", 15), ("android_app", 15), ("console", 10), ("web_mobile", 5)])
        for _ in 0..<sessions {
            playbackNumber += 1
            let kind = weighted([("fine", 84), ("rebuffering", 11), ("error", 5)])
            let watched = kind == "error" ? between(1, 50) * Self.minute : between(4, 120) * Self.minute
            // Rebuffer ratio in tenths of a percent.
            let ratio = kind == "rebuffering" ? between(21, 180) : kind == "error" ? between(0, 60) : between(0, 15)
            let stalls = ratio == 0 ? 0 : max(1, ratio * watched / Self.minute / 300)
            let played = kind == "rebuffering" && quality != "SD" && chance(60) ? "SD" : quality
            let bitrate: Int64 = played == "SD" ? between(1_500, 3_000) : played == "HD" ? between(4_000, 8_000) : between(12_000, 20_000)
            let endedAt = startedAt + watched + watched * ratio / 1_000
            var p = Object()
            p.string("id", "B-\(200_000 + playbackNumber)"); p.string("rental_id", "V-\(100_000 + rentalNumber)"); p.string("device", device)
            p.string("quality", played); p.time("started_at", startedAt); p.time("ended_at", endedAt); p.duration("watched", watched)
            p.add("startup_time", raw: "\"\(kind == "fine" ? between(600, 2_500) : between(1_500, 9_000))ms\"")
            p.add("rebuffer_ratio", raw: "\"\(ratio / 10).\(ratio % 10)%\""); p.integer("rebuffer_count", stalls)
            p.integer("average_bitrate_kbps", bitrate)
            p.string("error_code", kind == "error" ? element(["NET_TIMEOUT", "DRM_LICENSE", "E-4012", "CDN_503"]) : nil)
            emit("playback.ended", at: endedAt, [("playback", p.json), ("rental", rental.json), ("customer", customerText)])
            startedAt = endedAt + between(30, 20 * 60) * Self.minute
            if startedAt > rentedAt + 47 * Self.hour { break }
        }
    }

    // MARK: The whole history

    /// About `count` events: orders make some 6.5 events each, rentals about 1.5.
    mutating func generate(_ count: Int) -> String {
        let orders = max(10, count * 10 / 63)
        makeCustomers(max(20, orders * 55 / 100))
        let total = (0...Self.lastOrderDay).reduce(0) { $0 + Self.volume($1) }
        var carried = 0
        for d in 0...Self.lastOrderDay {
            // Spread the orders over the days by volume, carrying remainders so the total is exact.
            carried += Self.volume(d) * orders
            let today = carried / total
            carried %= total
            for _ in 0..<today { placeOrder(day: d) }
            for _ in 0..<(today / 5 + (chance(today % 5 * 20) ? 1 : 0)) { rent(day: d) }
        }
        for d in (Self.lastOrderDay + 1)..<63 where chance(70) { rent(day: d) }
        events.sort { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
        var out = ""
        out.reserveCapacity(events.count * 900)
        for (number, event) in events.enumerated() {
            out += event.text.replacingOccurrences(of: "\"#ID#\"", with: "\"h\(number + 1)\"") + "\n"
        }
        return out
    }
}
