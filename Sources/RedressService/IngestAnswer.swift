import RedressEngine

/// The body of the answer to `POST /v1/events`: the counts, then a result per line in order.
/// Written into one string (a batch's answer holds a result per line and its decisions: pieces
/// joined afterwards cost a copy and an allocation each).
enum IngestAnswer {
    static func json(_ results: [IngestResult], blankLines: Int) -> String {
        var accepted = 0, duplicates = 0, deadLetters = 0
        for result in results {
            switch result {
            case .accepted: accepted += 1
            case .duplicate: duplicates += 1
            case .deadLetter: deadLetters += 1
            }
        }
        var text = "{\"accepted\":\(accepted),\"duplicates\":\(duplicates),\"deadLetters\":\(deadLetters),\"blankLines\":\(blankLines),\"results\":["
        text.reserveCapacity(text.utf8.count + results.count * 160)
        func decided(_ line: Int, _ status: String, _ id: String, _ decisions: [OutboxEntry]) {
            text += "{\"line\":"
            text += String(line)
            text += ",\"status\":\""
            text += status
            text += "\",\"id\":"
            JSONText.append(id, to: &text)
            text += ",\"decisions\":["
            for (index, decision) in decisions.enumerated() {
                if index > 0 { text += "," }
                decision.appendJSON(to: &text)
            }
            text += "]}"
        }
        for (index, result) in results.enumerated() {
            if index > 0 { text += "," }
            switch result {
            case .accepted(let line, let id, let decisions): decided(line, "accepted", id, decisions)
            case .duplicate(let line, let id, let decisions): decided(line, "duplicate", id, decisions)
            case .deadLetter(let line, let reason):
                text += "{\"line\":\(line),\"status\":\"dead-letter\",\"reason\":"
                text += JSONText.quote(reason)
                text += "}"
            }
        }
        text += "]}"
        return text
    }
}
