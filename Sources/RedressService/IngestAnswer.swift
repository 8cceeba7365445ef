import RedressEngine

/// The body of the answer to `POST /v1/events`: the counts, then a result per line in order.
enum IngestAnswer {
    static func json(_ results: [IngestResult], blankLines: Int) -> String {
        var accepted = 0, duplicates = 0, deadLetters = 0
        var items: [String] = []
        items.reserveCapacity(results.count)
        func decided(_ line: Int, _ status: String, _ id: String, _ decisions: [OutboxEntry]) -> String {
            "{\"line\":\(line),\"status\":\"\(status)\",\"id\":\(JSONText.quote(id)),\"decisions\":[\(decisions.map(\.json).joined(separator: ","))]}"
        }
        for result in results {
            switch result {
            case .accepted(let line, let id, let decisions):
                accepted += 1
                items.append(decided(line, "accepted", id, decisions))
            case .duplicate(let line, let id, let decisions):
                duplicates += 1
                items.append(decided(line, "duplicate", id, decisions))
            case .deadLetter(let line, let reason):
                deadLetters += 1
                items.append("{\"line\":\(line),\"status\":\"dead-letter\",\"reason\":\(JSONText.quote(reason))}")
            }
        }
        return "{\"accepted\":\(accepted),\"duplicates\":\(duplicates),\"deadLetters\":\(deadLetters),\"blankLines\":\(blankLines),"
            + "\"results\":[" + items.joined(separator: ",") + "]}"
    }
}
