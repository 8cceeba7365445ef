import Foundation
import Testing
@testable import RedressStudio

/// The workbench writes only rule files of the rule set's own directory.
@Suite struct PathSafetyTests {
    static let refused = ["../escape.rules", "/tmp/absolute.rules", "sub/dir.rules", "..\\escape.rules", ".hidden.rules",
                          "schema.yaml", "catalog.yaml", "notes.txt", ".rules", "line\nbreak.rules", String(repeating: "a", count: 300) + ".rules"]

    @Test(arguments: refused)
    func aNameThatIsNotARuleFileOfTheDirectoryIsRefused(_ name: String) throws {
        let directory = try shopCopy()
        let folder = try RuleSetFolder(directory.path)
        #expect(throws: RuleSetFolder.Refusal.self) { try folder.ruleFilePath(name) }
        #expect(throws: RuleSetFolder.Refusal.self) { try folder.write(name, text: "# not written\n") }
        #expect(!FileManager.default.fileExists(atPath: directory.deletingLastPathComponent().appendingPathComponent("escape.rules").path))
    }

    @Test func aSymbolicLinkOutOfTheDirectoryIsNeitherListedNorWritten() throws {
        let directory = try shopCopy()
        let outside = directory.deletingLastPathComponent().appendingPathComponent("outside-\(UUID().uuidString).rules")
        try "# outside\n".write(to: outside, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("link.rules").path, withDestinationPath: outside.path)
        let folder = try RuleSetFolder(directory.path)
        #expect(!folder.ruleFileNames().contains("link.rules"))
        #expect(folder.ruleFileNames().contains("mission.rules"))
        #expect(throws: RuleSetFolder.Refusal.self) { try folder.write("link.rules", text: "# overwritten\n") }
        #expect(text(outside) == "# outside\n")
    }

    @Test func aRuleFileIsWrittenWholeInsideTheDirectory() throws {
        let directory = try shopCopy()
        let folder = try RuleSetFolder(directory.path)
        try folder.write("new.rules", text: "# new\n")
        #expect(text(directory.appendingPathComponent("new.rules")) == "# new\n")
        // An existing file is replaced whole and keeps its permissions.
        let mission = directory.appendingPathComponent("mission.rules")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: mission.path)
        try folder.write("mission.rules", text: "# replaced\n")
        #expect(text(mission) == "# replaced\n")
        #expect((try FileManager.default.attributesOfItem(atPath: mission.path)[.posixPermissions] as? Int) == 0o640)
        // No temporary file is left beside it.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!names.contains { $0.contains("studio-") })
    }

    @Test func aNameWithMarkupIsAPlainFileName() throws {
        let directory = try shopCopy()
        let folder = try RuleSetFolder(directory.path)
        try folder.write("<script>alert(1)<.rules", text: "# a name to escape\n")
        #expect(folder.ruleFileNames().contains("<script>alert(1)<.rules"))
    }

    @Test func theStudioSavesOnlyRuleFilesOfTheSet() async throws {
        let (studio, directory) = try shopStudio()
        let before = text(directory.appendingPathComponent("schema.yaml"))
        #expect(throws: StudioError.self) { try studio.save(["../schema.yaml": "broken"]) }
        #expect(throws: StudioError.self) { try studio.save([directory.appendingPathComponent("schema.yaml").path: "broken"]) }
        #expect(text(directory.appendingPathComponent("schema.yaml")) == before)
        let mission = text(directory.appendingPathComponent("mission.rules"))
        let saved = try studio.save(["mission.rules": mission.replacingOccurrences(of: "> 2d", with: "> 3d")])
        #expect(saved.saved == ["mission.rules"])
        #expect(text(directory.appendingPathComponent("mission.rules")).contains("> 3d"))
    }

    @Test func theRuleSetMustBeADirectory() throws {
        let directory = try shopCopy()
        #expect(throws: RuleSetFolder.Refusal.self) { try RuleSetFolder(directory.appendingPathComponent("mission.rules").path) }
        #expect(throws: RuleSetFolder.Refusal.self) { try RuleSetFolder(directory.appendingPathComponent("missing").path) }
    }
}
