import Foundation
import RedressEngine
import RedressIR
import RedressSimulation

/// `GET /v1/shadow/report`: the active rule set and the shadow side by side on the same live
/// events — decisions and cost per rule (`Comparison.Row`, the rows of `simulate --baseline`,
/// the active set as the baseline) and the subjects on which they decided differently. The
/// live twin of `simulate DRAFT --baseline ACTIVE`, over what this process has evaluated since
/// it started (the outboxes keep every decision over restarts; this comparison does not).
///
/// Each side adds its decisions after its own commit, on its own thread; the shadow follows
/// the active set through a queue, so a subject can disagree for the moment the shadow is
/// behind (`shadow.queuedEvents` says by how much).
public final class ShadowComparison: @unchecked Sendable {
    public enum Side: Sendable { case active, shadow }

    let lock = NSLock()
    // Guarded by `lock`:
    var tallies: [Tally] = [Tally(), Tally()]
    /// Per subject (`entity:key`): what each side decided on it, one line per decision.
    var subjects: [String: [[String]]] = [:]
    /// Subjects not followed once `subjectLimit` were: counted, never listed.
    var untracked = 0
    let subjectLimit: Int
    let since: String

    struct Tally {
        var events = 0
        var decisions = 0
        var cost: Int64 = 0
        var byRule: [String: (decisions: Int, cost: Int64)] = [:]
        var pricing: Pricing? = nil
        var fingerprint = ""
        var program: Program? = nil
    }

    /// `subjectLimit`: the most subjects followed (memory stays bounded on any input).
    public init(since: String, subjectLimit: Int = 100_000) {
        self.since = since
        self.subjectLimit = subjectLimit
    }

    /// A committed group of one side.
    public func add(_ group: CommittedGroup, side: Side) {
        let index = side == .active ? 0 : 1
        let accepted = group.results.reduce(0) { sum, results in
            sum + results.reduce(0) { if case .accepted = $1 { $0 + 1 } else { $0 } }
        }
        lock.withLock {
            if tallies[index].fingerprint != group.fingerprint {
                tallies[index].pricing = Pricing(program: group.program)
                tallies[index].fingerprint = group.fingerprint
                tallies[index].program = group.program
            }
            tallies[index].events += accepted
            guard let pricing = tallies[index].pricing else { return }
            for decision in group.decisions {
                // Money in a currency the catalog has no rate for is outside the cost, as in `simulate` without `--rates`.
                var cost: Int64 = 0
                for action in decision.actions { cost = Self.add(cost, pricing.cost(action) ?? 0) }
                tallies[index].decisions += 1
                tallies[index].cost = Self.add(tallies[index].cost, cost)
                let line = tallies[index].byRule[decision.rule] ?? (0, 0)
                tallies[index].byRule[decision.rule] = (line.decisions + 1, Self.add(line.cost, cost))
                let subject = decision.subject.entity + ":" + decision.subject.key
                if subjects[subject] == nil {
                    guard subjects.count < subjectLimit else {
                        untracked += 1
                        continue
                    }
                    subjects[subject] = [[], []]
                }
                subjects[subject]?[index].append(Self.describe(decision))
            }
        }
    }

    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b < 0 ? .min : .max) : sum
    }

    /// `mission: refund 5.00 EUR, send apology (email)`: what a consumer would carry out.
    static func describe(_ decision: Decision) -> String {
        decision.rule + ": " + decision.actions.map { action in
            [action.verb, action.amount, action.argument, action.channel.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
        }.joined(separator: ", ")
    }

    struct SideJSON: Encodable {
        var fingerprint: String
        var events: Int
        var decisions: Int
        var cost: String
        var costMinor: Int64
        /// The shadow's only: events waiting for it, those it never evaluated (its queue was
        /// full, or it failed), and why it failed.
        var queuedEvents: Int? = nil
        var droppedEvents: Int? = nil
        var failure: String? = nil
    }
    struct Disagreement: Encodable {
        var subject: String
        var active: [String]
        var shadow: [String]
    }
    struct Disagreements: Encodable {
        var count: Int
        var shown: [Disagreement]
        /// Subjects decided on after `subjectLimit` were followed: not compared.
        var untrackedSubjects: Int
    }
    struct ReportJSON: Encodable {
        var version = 1
        var since: String
        var currency: String
        var active: SideJSON
        var shadow: SideJSON
        var deltaMinor: Int64
        var byRule: [Comparison.Row]
        var disagreements: Disagreements
    }

    /// The report as JSON (keys sorted, rows by the size of the change then name, subjects
    /// by name): the same evaluations give the same text. At most `shown` subjects are listed.
    /// `active` and `shadow`: the evaluators' status now (the fingerprints they serve).
    public func json(active: ServiceStatus, shadow status: ServiceStatus, queuedEvents: Int, droppedEvents: Int, failure: String?, shown: Int = 100) -> String {
        let activeStatus = active
        let report: ReportJSON = lock.withLock {
            let (active, draft) = (tallies[0], tallies[1])
            let program = active.program ?? draft.program
            // The catalog's currency (an IR file could name one it does not hold: then minor units, no code).
            let currency = program.flatMap { $0.currencies.indices.contains(Int($0.catalog.currency)) ? $0.currencies[Int($0.catalog.currency)].code : nil }
            func money(_ minor: Int64) -> String {
                guard let program, currency != nil else { return String(minor) }
                return ValueText.describe(RuntimeValue(.money, minor, unit: program.catalog.currency), program: program)
            }
            let names = Set(active.byRule.keys).union(draft.byRule.keys)
            let rows = names.map { name in
                Comparison.Row(rule: name, baselineDecisions: active.byRule[name]?.decisions ?? 0, decisions: draft.byRule[name]?.decisions ?? 0,
                               baselineCost: active.byRule[name]?.cost ?? 0, cost: draft.byRule[name]?.cost ?? 0)
            }.sorted(by: Comparison.Row.largerChangeFirst)
            var differing: [Disagreement] = []
            var count = 0
            for (subject, sides) in subjects where sides[0].sorted() != sides[1].sorted() {
                count += 1
                differing.append(Disagreement(subject: subject, active: sides[0], shadow: sides[1]))
            }
            differing.sort { $0.subject < $1.subject }
            let delta = Self.add(draft.cost, active.cost == .min ? .max : -active.cost)
            return ReportJSON(
                since: since, currency: currency ?? "",
                active: SideJSON(fingerprint: activeStatus.fingerprint, events: active.events, decisions: active.decisions,
                                 cost: money(active.cost), costMinor: active.cost),
                shadow: SideJSON(fingerprint: status.fingerprint, events: draft.events,
                                   decisions: draft.decisions, cost: money(draft.cost), costMinor: draft.cost,
                                   queuedEvents: queuedEvents, droppedEvents: droppedEvents, failure: failure),
                deltaMinor: delta, byRule: rows,
                disagreements: Disagreements(count: count, shown: Array(differing.prefix(shown)), untrackedSubjects: untracked))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(report)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
