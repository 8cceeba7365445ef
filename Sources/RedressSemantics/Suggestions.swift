import RedressSyntax

/// "Did you mean ...?" — the one implementation for every stage (rules, schema, catalog, CSV
/// mappings), so that the same misspelling gets the same answer everywhere.
///
/// Closeness is the edit distance (insertions, deletions, substitutions and swapped neighbours
/// count one each) between the lowercased words; a candidate is close when the distance is at
/// most a third of the word's length (at least 1). Ties go to the alphabetically first
/// candidate, so the answer never depends on the order a caller lists them in.
public enum Suggestions {
    /// The closest candidate, if one is close enough.
    public static func closest(_ word: String, among candidates: [String]) -> String? {
        nearest(word, among: candidates, limit: 1).first
    }

    /// `did you mean `X`?`, or nil when nothing is close.
    public static func didYouMean(_ word: String, among candidates: [String], format: (String) -> String = { "`\($0)`" }) -> String? {
        closest(word, among: candidates).map { "did you mean \(format($0))?" }
    }

    /// Up to `limit` close candidates, nearest first (ties alphabetically).
    public static func nearest(_ word: String, among candidates: [String], limit: Int) -> [String] {
        let bound = max(1, word.count / 3)
        let lowered = word.lowercased()
        var scored: [(String, Int)] = []
        for candidate in Set(candidates) {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= bound { scored.append((candidate, distance)) }
        }
        return scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(limit).map(\.0)
    }

    /// The candidates ordered by closeness to `word` (all of them, nearest first), for listing
    /// "the nearest few" when a list would be too long to show whole.
    public static func ranked(_ word: String, among candidates: [String]) -> [String] {
        let lowered = word.lowercased()
        return Set(candidates).map { ($0, editDistance(lowered, $0.lowercased())) }
            .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.map(\.0)
    }

    /// `a`, `b` and `c` — every name when there are at most `limit`; otherwise the `limit`
    /// nearest to `word` (or the first ones, without a word) and how many more there are.
    public static func listing(_ names: [String], nearestTo word: String? = nil, limit: Int = 12) -> String {
        let shown: [String]
        if names.count <= limit {
            shown = names
        } else if let word {
            shown = Array(ranked(word, among: names).prefix(limit))
        } else {
            shown = Array(names.prefix(limit))
        }
        let quoted = shown.map { "`\($0)`" }
        let rest = names.count - shown.count
        if rest > 0 { return quoted.joined(separator: ", ") + " and \(rest) more" }
        if quoted.count <= 1 { return quoted.joined() }
        return quoted.dropLast().joined(separator: ", ") + " and " + quoted[quoted.count - 1]
    }

    // MARK: - Names of the schema

    /// The `entity.field` paths a bare word may mean: fields with exactly that name first
    /// (`country` → `customer.country`), then fields with the word as a part of their name
    /// (`shipment.destination_country`), then fields whose name is close to it (`teir` →
    /// `customer.tier`). Schema order within each group.
    public static func fieldPaths(for word: String, in schema: Schema, limit: Int = 4) -> [String] {
        let lowered = word.lowercased()
        var exact: [String] = [], part: [String] = [], close: [String] = []
        let bound = max(1, word.count / 3)
        for entity in schema.entities {
            for field in entity.fields {
                let name = field.name.lowercased()
                let path = "\(entity.name).\(field.name)"
                if name == lowered {
                    exact.append(path)
                } else if lowered.count >= 3, name.split(separator: "_").contains(Substring(lowered)) {
                    part.append(path)
                } else if editDistance(lowered, name) <= bound {
                    close.append(path)
                }
            }
        }
        return Array((exact + part + (exact.isEmpty && part.isEmpty ? close : [])).prefix(limit))
    }

    /// The help for a bare word that names fields of several entities or of one: "did you mean
    /// `customer.country`?" for one, "did you mean `a`, `b` or `c`?" for several; nil for none.
    public static func didYouMeanField(_ word: String, in schema: Schema) -> (help: String, only: String?)? {
        let paths = fieldPaths(for: word, in: schema)
        guard !paths.isEmpty else { return nil }
        if paths.count == 1 { return ("did you mean `\(paths[0])`?", paths[0]) }
        let quoted = paths.map { "`\($0)`" }
        return ("did you mean \(quoted.dropLast().joined(separator: ", ")) or \(quoted.last!)? (fields are written `entity.field`)", nil)
    }

    /// What to say about an event type the schema does not declare: a close name if there is
    /// one, the note that event types are declared under `events:` of the schema, and the
    /// declared ones (all of them, or the nearest few when there are many).
    public static func unknownEvent(_ name: String, in schema: Schema, limit: Int = 16) -> (help: String, notes: [String]) {
        let names = schema.events.map(\.name)
        let declaredIn = "event types are declared in \(schema.file) under `events:`; a new one must be added there first"
        if names.isEmpty {
            return ("declare the event under `events:` in \(schema.file)", ["\(schema.file) declares no event types"])
        }
        // `order.cancelled`: when the entity is right, only its own events are close or not.
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        let sameEntity = parts.count == 2 ? names.filter { $0.hasPrefix(parts[0] + ".") } : []
        let close = sameEntity.isEmpty
            ? closest(name, among: names)
            : closest(parts[1], among: sameEntity.map { String($0.dropFirst(parts[0].count + 1)) }).map { "\(parts[0]).\($0)" }
        if let close {
            return ("did you mean `\(close)`?", [declaredIn])
        }
        let shown = listing(names, nearestTo: name, limit: limit)
        return ("use one of the declared event types: \(shown)", [declaredIn])
    }

    // MARK: - Distance

    /// Levenshtein distance with transpositions counted as one edit (optimal string alignment),
    /// over UTF-8 bytes. Words whose lengths differ by more than 8 are not compared further.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        if abs(a.count - b.count) > 8 { return abs(a.count - b.count) }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
