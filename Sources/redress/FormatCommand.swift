import ArgumentParser
import Foundation
import RedressSemantics
import RedressSyntax

struct Format: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fmt",
        abstract: "Rewrite rule files in the canonical layout.",
        discussion: """
            Formatting keeps comments and never changes what a rule means. Files with syntax errors are \
            left untouched and reported.
            Exit status: 0 done (or already formatted with --check), 1 a file needs formatting (--check) or \
            has syntax errors, 2 usage or I/O error.
            """)

    @Argument(help: "Rule files or directories (searched recursively).")
    var paths: [String]

    @Flag(help: "Change nothing; exit 1 and print a diff if a file is not formatted.")
    var check = false

    @Flag(help: "Print the formatted text instead of rewriting the files.")
    var stdout = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one rule file or directory, for example `redress fmt rules/`") }
    }

    func run() throws {
        var files: [String] = []
        do {
            for location in try RuleSetLoader.locate(paths) { files += location.requestedFiles }
        } catch {
            Output.error("error: \(error)")
            throw ExitCode(2)
        }
        var failed = false
        for path in files.sorted() {
            let source: SourceFile
            do { source = try RuleSetLoader.read(path) } catch {
                Output.error("error: \(error)")
                throw ExitCode(2)
            }
            let (file, diagnostics) = Parser.parse(source)
            if !diagnostics.isEmpty {
                let renderer = DiagnosticRenderer(files: [path: source], colour: Output.colourOnStandardOutput)
                Output.write(renderer.human(diagnostics) + "\n")
                Output.error("\(path): not formatted because of syntax errors")
                failed = true
                continue
            }
            let formatted = Formatter.format(file)
            if stdout {
                Output.write(formatted)
            } else if check {
                if formatted != source.text {
                    // Line endings first: a diff of lines cannot show them, and `patch` skips
                    // text before the `---` line.
                    if let note = UnifiedDiff.lineEndingNote(old: source.text, new: formatted, name: path) {
                        Output.write(note + "\n")
                    }
                    Output.write(UnifiedDiff.render(old: source.text, new: formatted, oldName: "\(path) (as written)", newName: "\(path) (formatted)"))
                    failed = true
                }
            } else if formatted != source.text {
                // A byte order mark is not part of the text (`SourceFile`): it is neither
                // reported by --check nor removed here.
                let text = (source.hadByteOrderMark ? "\u{FEFF}" : "") + formatted
                try OutputFile.writeOrExit(Array(text.utf8), to: path)
                Output.error("formatted \(path)")
            }
        }
        if failed { throw ExitCode(1) }
    }
}
