import Foundation
import Testing
@testable import RedressStudio

/// The page is written in Sources/RedressStudio/Page/ and compiled into the binary through
/// EmbeddedPage.swift; the two must not drift apart.
@Suite struct EmbeddedPageTests {
    static let pageDirectory = repositoryRoot.appendingPathComponent("Sources/RedressStudio/Page")
    static let generated = repositoryRoot.appendingPathComponent("Sources/RedressStudio/EmbeddedPage.swift")

    static func pageFiles() throws -> [String: String] {
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: pageDirectory.path) {
            files[name] = text(pageDirectory.appendingPathComponent(name))
        }
        return files
    }

    /// EmbeddedPage.swift as it must read for the page's files (a raw string literal per file).
    static func source(_ files: [String: String]) -> String {
        var lines = [
            "// Generated from Sources/RedressStudio/Page/ by `REDRESS_UPDATE_GOLDEN=1 swift test --filter EmbeddedPageTests`; edit the files there, not this one.",
            "// The page is compiled into the binary so that `redress studio` needs nothing beside it.",
            "",
            "enum EmbeddedPage {",
            "    static let files: [String: String] = [",
        ]
        for name in files.keys.sorted() {
            lines.append("        \"\(name)\": #####\"\"\"\n\(files[name] ?? "")\n\"\"\"#####,")
        }
        lines += ["    ]", "}", ""]
        return lines.joined(separator: "\n")
    }

    @Test func theEmbeddedPageIsThePageInTheRepository() throws {
        let files = try Self.pageFiles()
        #expect(Set(files.keys) == ["index.html", "studio.css", "studio.js"])
        if ProcessInfo.processInfo.environment["REDRESS_UPDATE_GOLDEN"] == "1" {
            try Self.source(files).write(to: Self.generated, atomically: true, encoding: .utf8)
        }
        #expect(text(Self.generated) == Self.source(files), "run REDRESS_UPDATE_GOLDEN=1 swift test --filter EmbeddedPageTests")
        // And what the binary serves is exactly these files.
        for (name, content) in files { #expect(EmbeddedPage.files[name] == content, "\(name) differs from the embedded copy") }
    }

    /// Data reaches the page as text: the script never builds HTML from strings.
    @Test func theScriptNeverParsesDataAsHTML() throws {
        let script = text(Self.pageDirectory.appendingPathComponent("studio.js"))
        #expect(!script.isEmpty)
        for construct in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            #expect(!script.contains(construct), "studio.js uses \(construct)")
        }
        // The one HTML it shows, the server-rendered report, goes into a frame sandboxed without scripts.
        let page = text(Self.pageDirectory.appendingPathComponent("index.html"))
        #expect(page.contains(#"<iframe id="sim-report" sandbox="""#))
    }

    /// Offline: nothing is loaded from elsewhere.
    @Test func thePageLoadsNothingFromOtherSites() throws {
        for (name, content) in try Self.pageFiles() {
            // The SVG namespace is a name, never fetched.
            let rest = content.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
            #expect(!rest.contains("http://") && !rest.contains("https://") && !rest.contains("src=\"//"), "\(name) refers to another site")
        }
    }
}
