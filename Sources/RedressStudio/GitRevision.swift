import Foundation

/// The rule set's files as a git revision has them, for the diff against that revision. Read
/// with `git ls-tree` and `git show` run in the rule set's directory (no shell; the revision is
/// checked to be a revision name, so it can never be taken for an option or a path).
enum GitRevision {
    /// Branch, tag and commit names and their suffixes (`main`, `v1.2`, `HEAD~2`, `a1b2c3d`,
    /// `origin/main^`); no ranges, options or paths.
    static func isRevisionName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.utf8.count <= 200, !text.contains(".."), !text.contains(":"),
              CharacterSet.alphanumerics.contains(first) else { return false }
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./~^@{}-")
        return text.unicodeScalars.allSatisfy { allowed.contains($0) }
    }

    /// The files of `directory` at `revision` (rule files, and `extra` paths relative to the
    /// directory, such as `../schema.yaml`), by absolute path; a path the revision does not have
    /// is left out.
    static func files(at revision: String, directory: String, extra: [String]) throws(StudioError) -> [String: String] {
        guard isRevisionName(revision) else {
            throw StudioError(.badRequest, "`\(revision)` is not a git revision name (such as HEAD, main, v1.2 or a commit)")
        }
        let listing = try git(["ls-tree", "--name-only", "-z", revision, "--", "."], in: directory, revision: revision)
        let names = listing.split(separator: "\0").map(String.init).filter { $0.hasSuffix(".rules") && !$0.contains("/") }
        var files: [String: String] = [:]
        for name in names + extra {
            if let text = try? git(["show", "\(revision):./\(name)"], in: directory, revision: revision) {
                files[URL(fileURLWithPath: directory + "/" + name).standardizedFileURL.path] = text
            }
        }
        return files
    }

    private static func git(_ arguments: [String], in directory: String, revision: String) throws(StudioError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw StudioError(.unprocessable, "git cannot be run: \(error)") }
        // Read before waiting: a large file would fill the pipe and the child would wait forever.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            if process.terminationStatus == 127 { throw StudioError(.unprocessable, "git is not installed; compare with the saved files instead") }
            let reason = message.split(separator: "\n").first.map(String.init) ?? "git failed"
            throw StudioError(.unprocessable, "cannot read the rule set at \(revision): \(reason)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
