import Foundation
import Testing
@testable import RedressStudio

/// The page is written in Sources/RedressStudio/Page/ and compiled into the binary (SwiftPM's
/// `embedInCode`); what the binary serves is exactly those files.
@Suite struct EmbeddedPageTests {
    static let pageDirectory = repositoryRoot.appendingPathComponent("Sources/RedressStudio/Page")

    static func pageFiles() throws -> [String: String] {
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: pageDirectory.path) {
            files[name] = text(pageDirectory.appendingPathComponent(name))
        }
        return files
    }

    @Test func theEmbeddedPageIsThePageInTheRepository() throws {
        let files = try Self.pageFiles()
        #expect(Set(files.keys) == ["index.html", "studio.css", "studio.js"])
        #expect(Set(EmbeddedPage.files.keys) == Set(files.keys))
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
