// Writes a deterministic stream of shop events as JSON lines, for benchmarks and large tests.
//
//     .build/release/GenerateEvents [count] [seed] > events.jsonl
//
// Deliveries (most events), orders and returns for a few thousand customers, about one event
// a minute; a sixth of the deliveries are more than two days late, a third of customers are VIP.
import Foundation

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
