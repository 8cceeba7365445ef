import Foundation
import RedressEngine
import RedressEvents
import RedressIR
import RedressLanguageServices
import RedressReview
import RedressSemantics
import RedressSimulation
import RedressSyntax

/// What the workbench's page asks for, answered from the library: the language services on the
/// rule files as edited (not yet saved), the rule tests, explanations, simulations, sweeps and
/// the diff against the saved files with its cost.
///
/// Every request carries the page's documents (file name → text); they replace what the
/// workspace held, so the answer is always about the text the user sees. The workspace is not
/// thread-safe: it is used under a lock, one request at a time; replays run outside the lock, on
/// a thread of their own, one at a time (`ReplayGate`).
public final class Studio: @unchecked Sendable {
    public let folder: RuleSetFolder
    public let history: EventHistory
    public let gate = ReplayGate()
    private let lock = NSLock()
    private let workspace: Workspace

    /// At most this many documents in one request (a rule set of hundreds of files is unusual).
    public static let maximumDocuments = 500
    /// At most this many values in one sweep (each is a whole replay).
    public static let maximumSweepValues = 50

    public init(folder: RuleSetFolder, history: EventHistory) {
        self.folder = folder
        self.history = history
        self.workspace = Workspace(files: Self.filesWithoutLinks)
    }

    /// The disk as the workspace reads it, but with symbolic links left out of directory
    /// listings: the rule files the workbench shows and checks are the ones it may write.
    static let filesWithoutLinks: FileAccess = {
        let disk = FileAccess.disk
        return FileAccess(read: disk.read, exists: disk.exists, list: { directory in
            disk.list(directory).filter { name in
                var status = stat()
                return lstat(directory + "/" + name, &status) == 0 && (status.st_mode & S_IFMT) != S_IFLNK
            }
        })
    }()

    // MARK: - Documents

    /// Puts the page's documents into the workspace; files the page no longer sends fall back
    /// to their saved text.
    private func apply(_ documents: [String: String]) throws(StudioError) {
        guard documents.count <= Self.maximumDocuments else {
            throw StudioError(.contentTooLarge, "more than \(Self.maximumDocuments) files in one request")
        }
        var paths = Set<String>()
        for (name, text) in documents.sorted(by: { $0.key < $1.key }) {
            let path = try folderPath(name)
            paths.insert(path)
            if workspace.source(path)?.text != text || !workspace.isOpen(path) { workspace.update(path, text: text) }
        }
        for path in workspace.openPaths where !paths.contains(path) { workspace.close(path) }
    }

    private func folderPath(_ name: String) throws(StudioError) -> String {
        do throws(RuleSetFolder.Refusal) { return try folder.ruleFilePath(name) } catch { throw StudioError(.badRequest, error.description) }
    }

    private func locked<Result>(_ documents: [String: String], _ body: () throws(StudioError) -> Result) throws(StudioError) -> Result {
        lock.lock()
        defer { lock.unlock() }
        try apply(documents)
        return try body()
    }

    // MARK: - The rule set

    public func ruleSet() -> RuleSetView {
        lock.lock()
        defer { lock.unlock() }
        let files = folder.ruleFileNames().map { name in
            RuleSetView.File(name: name, text: workspace.files.read(folder.directory + "/" + name) ?? "")
        }
        let program = try? compiledProgram(extraFields: [])
        let parameters = program.map { program in
            program.parameters.map { RuleSetView.Parameter(name: $0.name, type: $0.type, value: ValueText.describe($0.value, program: program)) }
        } ?? []
        // Every field of the schema, for the segment picker (the program knows them all, used or not).
        let fields = program.map { program in program.entities.flatMap { entity in entity.fields.map { "\(entity.name).\($0.name)" } } } ?? []
        return RuleSetView(name: URL(fileURLWithPath: folder.directory).lastPathComponent, directory: folder.directory, files: files,
                           tests: folder.testFilePaths().map(folder.name(of:)), eventFiles: history.files, eventLines: history.lines.count,
                           parameters: parameters, fields: fields)
    }

    // MARK: - Language services

    public func check(_ documents: [String: String]) throws(StudioError) -> CheckView {
        try locked(documents) { () throws(StudioError) -> CheckView in
            var byFile: [String: [DiagnosticView]] = [:]
            for (path, diagnostics) in workspace.diagnostics(ofRuleSet: folder.directory) {
                byFile[folder.name(of: path)] = diagnostics.map(view)
            }
            let all = byFile.values.joined()
            return CheckView(files: byFile, errors: all.filter { $0.severity == "error" }.count, warnings: all.filter { $0.severity == "warning" }.count)
        }
    }

    private func view(_ diagnostic: EditorDiagnostic) -> DiagnosticView {
        let fix = diagnostic.fix.map { edit in
            DiagnosticView.Fix(title: edit.newText.isEmpty ? "Remove it" : "Change to \(edit.newText)", file: folder.name(of: edit.path),
                               range: RangeView(edit.range), newText: edit.newText)
        }
        return DiagnosticView(file: folder.name(of: diagnostic.path), code: diagnostic.diagnostic.code.rawValue,
                              severity: diagnostic.diagnostic.severity.rawValue, message: diagnostic.diagnostic.message,
                              notes: diagnostic.diagnostic.notes, help: diagnostic.diagnostic.help, range: RangeView(diagnostic.range), fix: fix)
    }

    public func complete(_ documents: [String: String], file: String, at position: TextPosition) throws(StudioError) -> CompletionView {
        try locked(documents) { () throws(StudioError) -> CompletionView in
            let path = try folderPath(file)
            guard let completions = workspace.completions(in: path, at: position) else {
                return CompletionView(range: RangeView(TextRange(start: position, end: position)), items: [])
            }
            return CompletionView(range: RangeView(completions.replacing), items: completions.items.map {
                CompletionView.Item(label: $0.label, kind: $0.kind.rawValue, detail: $0.detail, documentation: $0.documentation)
            })
        }
    }

    public func hover(_ documents: [String: String], file: String, at position: TextPosition) throws(StudioError) -> HoverView {
        try locked(documents) { () throws(StudioError) -> HoverView in
            let hover = workspace.hover(in: try folderPath(file), at: position)
            return HoverView(text: hover?.markdown, range: hover.map { RangeView($0.range) })
        }
    }

    /// The file in the canonical layout; refused while it has syntax errors.
    public func format(_ documents: [String: String], file: String) throws(StudioError) -> FormatView {
        try locked(documents) { () throws(StudioError) -> FormatView in
            let path = try folderPath(file)
            guard let edits = workspace.formatting(of: path) else {
                throw StudioError(.unprocessable, "\(file) has syntax errors; fix them (see the list) before formatting")
            }
            return FormatView(text: edits.last?.newText ?? (workspace.source(path)?.text ?? ""), changed: !edits.isEmpty)
        }
    }

    // MARK: - Compiling

    /// The rule set as edited, compiled; a clear refusal while it has errors. Under the lock.
    private func compiledProgram(extraFields: [String]) throws(StudioError) -> Program {
        guard let report = workspace.report(ofRuleSet: folder.directory) else {
            throw StudioError(.unprocessable, "the rule set has no schema.yaml or catalog.yaml in \(folder.directory) or above it")
        }
        return try Self.compile(report, extraFields: extraFields, what: "the rule set")
    }

    static func compile(_ report: RuleSetReport, extraFields: [String], what: String) throws(StudioError) -> Program {
        let errors = report.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty else {
            throw StudioError(.unprocessable, "\(what) has \(errors.count) error\(errors.count == 1 ? "" : "s") (see the list); fix \(errors.count == 1 ? "it" : "them") first")
        }
        let (program, problems) = Program.compile(report, extraFields: extraFields)
        guard let program else { throw StudioError(.unprocessable, problems.joined(separator: "; ")) }
        return program
    }

    // MARK: - Rule tests

    /// The rule tests beside the rules, run on the rules as edited.
    public func tests(_ documents: [String: String]) throws(StudioError) -> TestsView {
        try locked(documents) { () throws(StudioError) -> TestsView in
            let program = try compiledProgram(extraFields: [])
            let catalog = workspace.report(ofRuleSet: folder.directory)?.checked?.catalog
            let rulePlaces = Dictionary(program.rules.map { ($0.name, ($0.file, $0.line)) }, uniquingKeysWith: { first, _ in first })
            var cases: [TestsView.Case] = []
            var errors: [TestsView.FileError] = []
            for path in folder.testFilePaths() {
                let name = folder.name(of: path)
                guard let text = workspace.files.read(path) else {
                    errors.append(.init(file: name, message: "cannot read \(name)"))
                    continue
                }
                let source = SourceFile(path: path, text: text)
                let (file, diagnostics) = RuleTestParser.parse(source, program: program, catalog: catalog)
                guard let file else {
                    let rendered = DiagnosticRenderer(files: [path: source], colour: false).human(diagnostics)
                    errors.append(.init(file: name, message: rendered))
                    continue
                }
                for testCase in file.cases {
                    let result = RuleTestRunner.run(testCase, file: path, program: program)
                    let rules = Set(result.expected.map(\.rule) + result.actual.map(\.rule)).sorted()
                    cases.append(.init(file: name, line: result.line, name: result.name, passed: result.passed,
                                       rules: rules.map { rule in
                                           TestsView.RulePlace(name: rule, file: rulePlaces[rule].map { folder.name(of: $0.0) }, line: rulePlaces[rule]?.1)
                                       },
                                       comparison: result.passed ? nil : RuleTestReport.comparison(result)))
                }
            }
            let passed = cases.filter(\.passed).count
            return TestsView(passed: passed, failed: cases.count - passed, cases: cases, errors: errors)
        }
    }

    // MARK: - Explain

    /// Why each rule decided or not for one event: pasted JSON (earlier lines, if any, build up
    /// history first, as `redress explain --event FILE`), or the event of a history with this id
    /// after the events before it.
    public func explain(_ documents: [String: String], event: String?, id: String?) throws(StudioError) -> ExplainView {
        try locked(documents) { () throws(StudioError) -> ExplainView in
            let program = try compiledProgram(extraFields: [])
            let engine = Engine(program: program)
            let reader = EventReader(program: program)
            var current = Event(slotCount: program.slots.count)
            var lines: [(number: Int, bytes: [UInt8])] = []
            var place: String
            if let id, !id.isEmpty {
                guard let index = history.index(ofEventWithID: id, program: program) else {
                    throw StudioError(.notFound, history.isEmpty ? "no history was given (start the studio with --events FILE)" : "no event with id \(id) in the history")
                }
                lines = history.lines[...index].map { ($0.number, $0.bytes) }
                place = "line \(history.lines[index].number) of \(history.lines[index].file), after the \(index) events before it"
            } else {
                let text = event ?? ""
                lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                    .filter { !$0.element.allSatisfy(\.isWhitespace) }.map { ($0.offset + 1, Array($0.element.utf8)) }
                guard !lines.isEmpty else { throw StudioError(.badRequest, "paste an event (one JSON object), or give the id of an event of the history") }
                place = lines.count == 1 ? "the pasted event" : "the last pasted event, after the \(lines.count - 1) before it"
            }
            var skipped = 0
            for (index, line) in lines.enumerated() {
                if let reason = line.bytes.withUnsafeBufferPointer({ reader.read($0, number: line.number, into: &current) }) {
                    // History lines that cannot be read are skipped, as `run` skips them; the
                    // event explained must be readable.
                    if index == lines.count - 1 || id == nil {
                        throw StudioError(.unprocessable, "the event\(lines.count == 1 ? "" : " on line \(line.number)") cannot be read: \(reason)")
                    }
                    skipped += 1
                    continue
                }
                if index < lines.count - 1 { _ = engine.process(current) }
            }
            if skipped > 0 { place += " (\(skipped) could not be read and were skipped)" }
            let explanations = Explainer.explain(current, engine: engine).map { explanation in
                var shown = explanation
                shown.file = folder.name(of: explanation.file)
                return shown
            }
            return ExplainView(explained: place, rules: explanations, text: Explainer.render(explanations, verbose: false))
        }
    }

    // MARK: - Replays

    /// Runs `work` on a thread of its own (a replay can take seconds; the server's threads stay free).
    private func offThread<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    private func enterGate(_ work: String) throws(StudioError) {
        guard gate.enter(work) else {
            throw StudioError(.conflict, "a \(gate.current ?? "replay") is running; wait for it or cancel it (one replay at a time)")
        }
    }

    private func requireHistory() throws(StudioError) {
        if history.isEmpty { throw StudioError(.unprocessable, "no history to replay: start the studio with --events FILE") }
    }

    /// The simulation of the rules as edited over the history: the same report as
    /// `redress simulate RULESET --events FILE… [--by FIELDS]`.
    public func simulate(_ documents: [String: String], by fields: [String]) async throws(StudioError) -> SimulationView {
        try requireHistory()
        try enterGate("simulation")
        defer { gate.leave() }
        let (program, events, bad) = try locked(documents) { () throws(StudioError) -> (Program, [Event], Int) in
            // The order's key is asked for as `simulate` asks for it: the report counts orders.
            let program = try compiledProgram(extraFields: fields + ["order"])
            if let missing = fields.first(where: { program.slot(named: $0) == nil }) {
                throw StudioError(.unprocessable, "\(missing) is not a field of the schema")
            }
            let (events, bad) = history.events(for: program)
            return (program, events, bad)
        }
        let gate = self.gate
        let report = await offThread {
            Simulation(program: program, by: fields).replay(events, deadLetters: bad, shouldStop: { gate.isCancelled })
        }
        // A cancel that came after the last look of the replay still means the page does not want it.
        guard let report, !gate.isCancelled else { throw StudioError(.cancelled, "the simulation was cancelled") }
        if report.overflowed { throw StudioError(.unprocessable, "the projected costs do not fit in 64-bit minor units; check the events' amounts") }
        return SimulationView(report, html: HTMLReport.render(report, title: "Simulation of the rules as edited"))
    }

    /// One replay per value of a parameter: the cost curve.
    public func sweep(_ documents: [String: String], parameter: String, values: String) async throws(StudioError) -> SweepView {
        try requireHistory()
        let count = values.split(separator: ",").count
        guard count <= Self.maximumSweepValues else { throw StudioError(.contentTooLarge, "at most \(Self.maximumSweepValues) values in one sweep (each is a whole replay)") }
        try enterGate("sweep")
        defer { gate.leave() }
        let (program, swept, events, bad) = try locked(documents) { () throws(StudioError) -> (Program, (parameter: String, values: [RuntimeValue]), [Event], Int) in
            let program = try compiledProgram(extraFields: ["order"])
            let swept: (parameter: String, values: [RuntimeValue])
            do throws(Sweep.ValueProblem) { swept = try Sweep.values("\(parameter)=\(values)", program: program) } catch {
                throw StudioError(.unprocessable, error.description)
            }
            let (events, bad) = history.events(for: program)
            return (program, swept, events, bad)
        }
        let gate = self.gate
        let sweep = await offThread {
            Sweep.run(Simulation(program: program), parameter: swept.parameter, values: swept.values, events: events, deadLetters: bad,
                      shouldStop: { gate.isCancelled })
        }
        guard let sweep, !gate.isCancelled else { throw StudioError(.cancelled, "the sweep was cancelled") }
        if sweep.overflowed { throw StudioError(.unprocessable, "the projected costs do not fit in 64-bit minor units; check the events' amounts") }
        return SweepView(parameter: sweep.parameter, currency: program.currencies[Int(program.catalog.currency)].code, points: sweep.points)
    }

    /// What changed between the saved files (or a git revision's) and the edited ones, in domain
    /// words, and with a history what it costs (`redress diff SAVED EDITED --events FILE…`).
    public func diff(_ documents: [String: String], against revision: String? = nil) async throws(StudioError) -> DiffView {
        try enterGate("diff")
        defer { gate.leave() }
        let (diff, programs) = try locked(documents) { () throws(StudioError) -> (RuleSetDiff, (Program, Program)?) in
            let baseline = try baselineWorkspace(revision)
            let label = revision.map { "git \($0)" } ?? "saved"
            guard let before = baseline.report(ofRuleSet: folder.directory), let after = workspace.report(ofRuleSet: folder.directory) else {
                throw StudioError(.unprocessable, "the rule set has no schema.yaml or catalog.yaml in \(folder.directory) or above it")
            }
            let oldProgram = try Self.compile(before, extraFields: [], what: "the rule set at \(label)")
            let newProgram = try Self.compile(after, extraFields: [], what: "the rule set as edited")
            let diff = RuleSetDiff.compare(old: before, new: after, oldLabel: label, newLabel: "edited")
            return (diff, history.isEmpty ? nil : (oldProgram, newProgram))
        }
        var result = diff
        if let (oldProgram, newProgram) = programs {
            let (oldEvents, oldBad) = history.events(for: oldProgram)
            let (newEvents, newBad) = history.events(for: newProgram)
            let gate = self.gate
            let renames = diff.pairedNames
            let cost = await offThread {
                CostDiff.replay(old: oldProgram, new: newProgram, oldEvents: oldEvents, newEvents: newEvents, oldDeadLetters: oldBad,
                                newDeadLetters: newBad, renames: renames, shouldStop: { gate.isCancelled })
            }
            if gate.isCancelled { throw StudioError(.cancelled, "the diff's replay was cancelled") }
            guard let cost else { throw StudioError(.unprocessable, "the projected costs do not fit in 64-bit minor units; check the events' amounts") }
            result.cost = cost
        }
        return DiffView(diff: result, markdown: result.markdown())
    }

    /// The rule set to compare with: the saved files (a workspace with nothing open), or the
    /// files at a git revision (its schema and catalog too, where the revision has them). Under the lock.
    private func baselineWorkspace(_ revision: String?) throws(StudioError) -> Workspace {
        guard let revision else { return Workspace(files: Self.filesWithoutLinks) }
        let analysis = workspace.analysis(ofRuleSet: folder.directory)
        let yaml = [analysis.schema?.source.path, analysis.catalog?.source.path].compactMap { $0 }
        var files = try GitRevision.files(at: revision, directory: folder.directory, extra: yaml.map { Self.relative($0, from: folder.directory) })
        guard files.keys.contains(where: { $0.hasSuffix(".rules") }) else {
            throw StudioError(.unprocessable, "the rule set has no .rules files at \(revision)")
        }
        // A schema or catalog the revision does not have (not committed yet) is read as it is now.
        for path in yaml where files[path] == nil { files[path] = workspace.files.read(path) }
        return Workspace(files: .memory(files))
    }

    /// `path` relative to `directory` (`../schema.yaml`); both absolute.
    static func relative(_ path: String, from directory: String) -> String {
        let from = directory.split(separator: "/"), to = path.split(separator: "/")
        var common = 0
        while common < min(from.count, to.count), from[common] == to[common] { common += 1 }
        return (Array(repeating: "..", count: from.count - common) + to[common...].map(String.init)).joined(separator: "/")
    }

    /// Stops the replay that is running.
    public func cancel() -> CancelView { CancelView(cancelled: gate.cancel()) }

    // MARK: - Saving

    /// Writes the documents whose text differs from the file on disk (new files too); only rule
    /// files of the rule set's own directory.
    public func save(_ documents: [String: String]) throws(StudioError) -> SaveView {
        try locked(documents) { () throws(StudioError) -> SaveView in
            var saved: [String] = []
            for (name, text) in documents.sorted(by: { $0.key < $1.key }) {
                let path = try folderPath(name)
                if FileAccess.disk.read(path) == text { continue }
                do throws(RuleSetFolder.Refusal) { try folder.write(name, text: text) } catch { throw StudioError(.forbidden, error.description) }
                workspace.fileChangedOnDisk(path)
                saved.append(name)
            }
            return SaveView(saved: saved)
        }
    }
}
