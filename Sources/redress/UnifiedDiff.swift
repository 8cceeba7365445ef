/// A unified diff of two texts, as `diff -u` prints it, for `fmt --check`.
enum UnifiedDiff {
    enum Line: Equatable { case same(String), removed(String), added(String) }

    static func render(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = split(old), b = split(new)
        let lines = diff(a, b)
        var out = "--- \(oldName)\n+++ \(newName)\n"
        // Group changes into hunks with `context` unchanged lines around them.
        var index = 0
        var oldLine = 1, newLine = 1
        var positions: [(old: Int, new: Int)] = []
        for line in lines {
            positions.append((oldLine, newLine))
            switch line {
            case .same: oldLine += 1; newLine += 1
            case .removed: oldLine += 1
            case .added: newLine += 1
            }
        }
        while index < lines.count {
            guard let firstChange = lines[index...].firstIndex(where: { if case .same = $0 { return false } else { return true } }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < lines.count {
                if case .same = lines[end] {
                    if end - lastChange > context * 2 { break }
                } else {
                    lastChange = end
                }
                end += 1
            }
            end = min(lines.count, lastChange + context + 1)
            let hunk = lines[start..<end]
            let oldCount = hunk.filter { if case .added = $0 { return false } else { return true } }.count
            let newCount = hunk.filter { if case .removed = $0 { return false } else { return true } }.count
            out += "@@ -\(positions[start].old),\(oldCount) +\(positions[start].new),\(newCount) @@\n"
            for line in hunk {
                switch line {
                case .same(let text): out += " \(text)\n"
                case .removed(let text): out += "-\(text)\n"
                case .added(let text): out += "+\(text)\n"
                }
            }
            index = end
        }
        return out
    }

    static func split(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Longest common subsequence after trimming the common prefix and suffix; a very large
    /// changed middle is shown as one replaced block rather than taking quadratic time.
    static func diff(_ a: [String], _ b: [String]) -> [Line] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])
        var result = a[..<prefix].map { Line.same($0) }
        if middleA.count * middleB.count > 4_000_000 {
            result += middleA.map { .removed($0) } + middleB.map { .added($0) }
        } else {
            let n = middleA.count, m = middleB.count
            var table = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    table[i][j] = middleA[i] == middleB[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, middleA[i] == middleB[j] {
                    result.append(.same(middleA[i])); i += 1; j += 1
                } else if j < m, i == n || table[i][j + 1] >= table[i + 1][j] {
                    result.append(.added(middleB[j])); j += 1
                } else {
                    result.append(.removed(middleA[i])); i += 1
                }
            }
        }
        result += a[(a.count - suffix)...].map { Line.same($0) }
        return result
    }
}
