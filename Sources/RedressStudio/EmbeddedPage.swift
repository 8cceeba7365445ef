/// The page's files, written in Sources/RedressStudio/Page/ and compiled into the binary by SwiftPM
/// (`embedInCode` in Package.swift: `PackageResources`), so that `redress studio` needs nothing
/// beside it and cannot serve a copy that drifted from the files.
enum EmbeddedPage {
    static let files: [String: String] = [
        "index.html": String(decoding: PackageResources.index_html, as: UTF8.self),
        "studio.css": String(decoding: PackageResources.studio_css, as: UTF8.self),
        "studio.js": String(decoding: PackageResources.studio_js, as: UTF8.self),
    ]
}
