import Foundation

/// The rule set's directory as the workbench may touch it: it lists the rule files and writes
/// them, and nothing else. A name from the page is a bare file name (`delivery.rules`), never a
/// path: no `/`, no `..`, nothing absolute; a file that is a symbolic link is neither read as a
/// rule file nor written, so a link cannot carry a write out of the directory.
public struct RuleSetFolder: Sendable {
    /// The directory, absolute and with symbolic links resolved.
    public let directory: String

    public struct Refusal: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
    }

    public init(_ path: String) throws(Refusal) {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        guard let resolved = realpath(absolute, nil) else {
            throw Refusal(description: "cannot open the rule set \(path): \(String(cString: strerror(errno)))")
        }
        defer { free(resolved) }
        let directory = String(cString: resolved)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Refusal(description: "the rule set \(path) is not a directory (give the directory of its .rules files)")
        }
        self.directory = directory
    }

    /// The longest file name most file systems take, in bytes.
    static let longestName = 255

    /// The path of a rule file of the set, or why `name` is not one the workbench may touch.
    public func ruleFilePath(_ name: String) throws(Refusal) -> String {
        guard name.hasSuffix(".rules"), name.count > ".rules".count else {
            throw Refusal(description: "`\(name)` is not a rule file: the workbench reads and writes only *.rules files of the rule set")
        }
        guard !name.contains("/"), !name.contains("\\"), !name.hasPrefix("."), !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{7F}" }) else {
            throw Refusal(description: "`\(name)` is not a file name of the rule set's directory (no paths, no hidden files, no control characters)")
        }
        guard name.utf8.count <= Self.longestName else {
            throw Refusal(description: "the file name is longer than \(Self.longestName) bytes")
        }
        let path = directory + "/" + name
        if isSymbolicLink(path) {
            throw Refusal(description: "\(name) is a symbolic link; the workbench reads and writes only regular files inside the rule set's directory")
        }
        return path
    }

    /// The rule files of the directory itself (not of subdirectories), by name; symbolic links left out.
    public func ruleFileNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { (try? ruleFilePath($0)) != nil && isRegularFile(directory + "/" + $0) }.sorted()
    }

    /// The rule tests (`*.test.yaml`) of the directory, as paths.
    public func testFilePaths() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".test.yaml") && isRegularFile(directory + "/" + $0) }.sorted().map { directory + "/" + $0 }
    }

    /// The name of a path inside the directory (`delivery.rules`), or the path itself for a file
    /// elsewhere (a schema.yaml above the rule set).
    public func name(of path: String) -> String {
        path.hasPrefix(directory + "/") ? String(path.dropFirst(directory.count + 1)) : path
    }

    /// Writes a rule file: to a temporary file beside it, synced, then renamed over it, so a
    /// crash never leaves half a file (and a rename replaces a link, never writes through one).
    /// The file keeps its permissions.
    public func write(_ name: String, text: String) throws(Refusal) {
        let path = try ruleFilePath(name)
        var status = stat()
        let mode = lstat(path, &status) == 0 ? mode_t(status.st_mode & 0o7777) : 0o644
        let temporary = directory + "/.\(name).studio-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard descriptor >= 0 else { throw Refusal(description: "cannot write \(name): \(String(cString: strerror(errno)))") }
        var failure: String? = nil
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count, failure == nil {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno != EINTR { failure = String(cString: strerror(errno)) } else if count > 0 { written += count }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        // The mode given to open is cut by the umask; the file's own permissions are what it keeps.
        if failure == nil { _ = fchmod(descriptor, mode) }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw Refusal(description: "cannot write \(name): \(failure)")
        }
    }

    private func isSymbolicLink(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFLNK
    }

    private func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }
}
