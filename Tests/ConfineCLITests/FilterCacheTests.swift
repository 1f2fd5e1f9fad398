@testable import Confine
import ConfinePolicy
import Foundation
import Testing

/// `confine run` keeps compiled filters across runs (`CompiledFilterStore`). A cached filter
/// decides what a command may do, so each test plants a swapped one — a program that allows
/// every call, under the exact key of the default policy — and shows when it is refused.
@Suite(.serialized) struct FilterCacheTests {
    let cli = CLITests()
    static let probe = URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().appendingPathComponent("ConfineProbe").path

    /// A fresh folder for the cache, under a root-owned folder of `above` (0700: no other user
    /// may pass, as root's home).
    func cacheFolder(mode: mode_t = 0o700, above: mode_t = 0o700) throws -> String {
        let base = "/var/tmp/confine-cache-\(UUID().uuidString.prefix(8))"
        #expect(mkdir(base, 0o700) == 0)
        #expect(chmod(base, above) == 0)
        let folder = base + "/filters"
        #expect(mkdir(folder, 0o700) == 0)
        #expect(chmod(folder, mode) == 0)
        return folder
    }

    /// The key `confine run` uses for the default policy (refusals reported).
    func defaultKey() throws -> String {
        PolicyCompiler.cacheKey(try PolicyReader().load("default").seccomp, mode: .report)
    }

    /// Writes, under the default policy's key, a filter that allows everything.
    @discardableResult
    func plantSwappedFilter(in folder: String) throws -> String {
        let allowAll = try PolicyCompiler.compile(SeccompProfile(defaultAction: .allow), mode: .enforce)
        let key = try defaultKey()
        let path = folder + "/" + CompiledFilterStore.fileName(for: key)
        try Data(CompiledFilterStore.encode(allowAll, key: Array(key.utf8))).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        return path
    }

    /// Runs the probe's socket(AF_INET) attack through `confine run` with the cache in `folder`.
    func attack(cache folder: String) throws -> CLITests.Output {
        try cli.execute(CLITests.binary, ["run", "--", Self.probe, "socket-inet"], environment: ["CONFINE_CACHE_DIR": folder])
    }

    @Test func aSoundCacheIsUsedSoASwappedFilterWouldBeToo() throws {
        let folder = try cacheFolder()
        let first = try attack(cache: folder)
        #expect(first.status == 0 && first.text.hasPrefix("refused"), "\(first.text) \(first.stderr)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(entries.contains(CompiledFilterStore.fileName(for: try defaultKey())), "the run kept its filter: \(entries)")
        // The folder is the user's own and writable by no one else: what it holds is trusted.
        // This is why the tests below matter: a swapped entry in such a folder is obeyed.
        try plantSwappedFilter(in: folder)
        let swapped = try attack(cache: folder)
        #expect(swapped.status == 3 && swapped.text.hasPrefix("allowed"), "\(swapped.text) \(swapped.stderr)")
    }

    @Test func aWorkingDirectoryThatHoldsTheCacheIsNotWrittenAsItsOwner() throws {
        // The attack: run from the folder that holds the cache, where a leased uid would write
        // as the folder's owner (root), and plant an entry for every later run to obey.
        let folder = try cacheFolder(above: 0o755)
        let holder = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        let plant = "echo x > filters/planted 2>/dev/null && echo wrote || echo refused"
        let result = try cli.execute(CLITests.binary, ["run", "--", "sh", "-c", plant], directory: holder, environment: ["CONFINE_CACHE_DIR": folder, "PWD": holder])
        #expect(result.text == "refused\n", "\(result.text) \(result.stderr)")
        #expect(result.stderr.contains("holds Confine's cache of compiled filters and parsed policies"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/planted"))
        // The cache itself was used and kept: only the mapping was withheld.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).contains { $0.hasSuffix(".doc") })
    }

    /// The two kinds of entry, each planted to allow every call.
    enum Entry: String, CaseIterable, Sendable {
        case filter, document
    }

    @discardableResult
    func plantSwapped(_ entry: Entry, in folder: String) throws -> String {
        switch entry {
        case .filter: try plantSwappedFilter(in: folder)
        case .document: try plantSwappedDocument(in: folder)
        }
    }

    @Test(arguments: Entry.allCases)
    func aSwappedEntryInACacheOtherUsersCanWriteIsRefused(_ entry: Entry) throws {
        let folder = try cacheFolder(mode: 0o777)
        try plantSwapped(entry, in: folder)
        let result = try attack(cache: folder)
        #expect(result.status == 0 && result.text.hasPrefix("refused"), "the policy as written: \(result.text)")
        #expect(result.stderr.contains("not using the compiled-filter cache") && result.stderr.contains("writable by other users"), "\(result.stderr)")
    }

    @Test(arguments: Entry.allCases)
    func anEntryOfAnotherUserIsIgnoredAndReplaced(_ kind: Entry) throws {
        let folder = try cacheFolder()
        let entry = try plantSwapped(kind, in: folder)
        #expect(chown(entry, 65534, 65534) == 0)
        let result = try attack(cache: folder)
        #expect(result.status == 0 && result.text.hasPrefix("refused"), "\(result.text)")
        #expect(result.stderr.contains("belongs to uid 65534"), "\(result.stderr)")
        var info = stat()
        #expect(stat(entry, &info) == 0 && info.st_uid == geteuid(), "the run wrote a sound entry in its place")
    }

    @Test func aCacheOfAnotherUserIsRefused() throws {
        let folder = try cacheFolder()
        try plantSwappedFilter(in: folder)
        #expect(chown(folder, 65534, 65534) == 0)
        let result = try attack(cache: folder)
        #expect(result.status == 0 && result.text.hasPrefix("refused"), "\(result.text)")
        #expect(result.stderr.contains("belongs to uid 65534"), "\(result.stderr)")
    }

    @Test func aSymbolicLinkForTheCacheIsRefused() throws {
        let folder = try cacheFolder()
        try plantSwappedFilter(in: folder)
        let link = folder + "-link"
        #expect(symlink(folder, link) == 0)
        let result = try attack(cache: link)
        #expect(result.status == 0 && result.text.hasPrefix("refused"), "\(result.text)")
        #expect(result.stderr.contains("not a directory of its own"), "\(result.stderr)")
    }

    @Test func aStaleOrCorruptEntryIsCompiledAgain() throws {
        let folder = try cacheFolder()
        let entry = try plantSwappedFilter(in: folder)
        // One byte of the program flipped: the checksum no longer adds up.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entry))
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: entry))
        let corrupt = try attack(cache: folder)
        #expect(corrupt.status == 0 && corrupt.text.hasPrefix("refused"), "\(corrupt.text)")
        // Rewritten whole, with the policy's own filter.
        let rewritten = try [UInt8](Data(contentsOf: URL(fileURLWithPath: entry)))
        let filter = try #require(CompiledFilterStore.decode(rewritten, key: Array(try defaultKey().utf8)))
        #expect(filter == (try PolicyCompiler.compile(try PolicyReader().load("default").seccomp, mode: .report)))
        // An entry written under another key (a different Confine, libseccomp or policy) is not
        // taken for this one even when its file name matches.
        let allowAll = try PolicyCompiler.compile(SeccompProfile(defaultAction: .allow), mode: .enforce)
        try Data(CompiledFilterStore.encode(allowAll, key: Array((try defaultKey() + " ").utf8))).write(to: URL(fileURLWithPath: entry))
        let stale = try attack(cache: folder)
        #expect(stale.status == 0 && stale.text.hasPrefix("refused"), "\(stale.text)")
    }

    // MARK: policy files kept parsed (`.doc` entries)

    /// The text `confine run` reads for the default policy (policies/default.json of this package).
    func defaultText() throws -> [UInt8] {
        let folder = try #require(PolicyReader.shippedPoliciesDirectory())
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/default.json")))
    }

    /// Writes, for the default policy's exact text, a parsed document that allows every call.
    @discardableResult
    func plantSwappedDocument(in folder: String, version: String = ConfineVersion.string, forText text: [UInt8]? = nil) throws -> String {
        let swapped = try JSONValue.decode(Array(#"{ "version": 1, "include": "base", "seccomp": { "defaultAction": "SCMP_ACT_ALLOW" } }"#.utf8))
        let path = folder + "/" + CompiledFilterStore.documentFileName(for: try defaultText())
        let bytes = CompiledFilterStore.encodeDocument(swapped, text: try text ?? defaultText(), version: version)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        return path
    }

    @Test func aSoundCacheKeepsThePolicyParsedSoASwappedDocumentWouldBeObeyed() throws {
        let folder = try cacheFolder()
        let first = try attack(cache: folder)
        #expect(first.status == 0 && first.text.hasPrefix("refused"), "\(first.text) \(first.stderr)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(entries.contains(CompiledFilterStore.documentFileName(for: try defaultText())), "the run kept default.json parsed: \(entries)")
        #expect(entries.filter { $0.hasSuffix(".doc") }.count == 2, "default.json and the base.json it includes: \(entries)")
        // What the user's own folder holds is trusted, as for filters: a swapped document is
        // obeyed, which is why the refusals below matter.
        try plantSwappedDocument(in: folder)
        let swapped = try attack(cache: folder)
        #expect(swapped.status == 3 && swapped.text.hasPrefix("allowed"), "\(swapped.text) \(swapped.stderr)")
    }

    @Test func aCorruptStaleOrOtherVersionDocumentIsParsedAgain() throws {
        let folder = try cacheFolder()
        // One byte of the document changed: the checksum no longer adds up.
        let entry = try plantSwappedDocument(in: folder)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entry))
        bytes[bytes.count - 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: entry))
        let corrupt = try attack(cache: folder)
        #expect(corrupt.status == 0 && corrupt.text.hasPrefix("refused"), "\(corrupt.text)")
        // Rewritten whole, from the file as it is.
        let rewritten = try [UInt8](Data(contentsOf: URL(fileURLWithPath: entry)))
        let document = try #require(CompiledFilterStore.decodeDocument(rewritten, text: try defaultText()))
        #expect(document == (try JSONValue.decode(try defaultText())))
        // A sound entry for another text under this file name (the file was edited since), and
        // one written by another Confine version: neither is taken.
        // The same length as the file, one byte apart: only the byte-for-byte comparison of the
        // text and of the version refuses them (lengths and checksums add up).
        var edited = try defaultText()
        edited[edited.count / 2] ^= 0x20
        try plantSwappedDocument(in: folder, forText: edited)
        let stale = try attack(cache: folder)
        #expect(stale.status == 0 && stale.text.hasPrefix("refused"), "\(stale.text)")
        var version = Array(ConfineVersion.string.utf8)
        version[version.count - 1] ^= 0x01
        try plantSwappedDocument(in: folder, version: String(decoding: version, as: UTF8.self))
        let otherVersion = try attack(cache: folder)
        #expect(otherVersion.status == 0 && otherVersion.text.hasPrefix("refused"), "\(otherVersion.text)")
        // Both refusals are the entry's own: the same bytes with the right text and version are taken.
        let planted = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try plantSwappedDocument(in: folder))))
        #expect(CompiledFilterStore.decodeDocument(planted, text: try defaultText()) != nil)
        #expect(CompiledFilterStore.decodeDocument(planted, text: edited) == nil)
    }

    /// An entry keeps the line of each field (what errors and origins name) with the parsed
    /// document: a policy read back from the store is the one read afresh, origins and all, and
    /// an error found on a read from the store still names file, line and field.
    @Test func aPolicyReadBackFromTheStoreKeepsItsLines() throws {
        let folder = try cacheFolder()
        let store = try #require(CompiledFilterStore(path: folder))
        var reader = PolicyReader()
        reader.documents = store
        let plain = try PolicyReader().load("default")
        #expect(try reader.load("default") == plain, "the first read, which keeps each file")
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".doc") }
        #expect(entries.count == 2, "default.json and base.json: \(entries)")
        let back = try reader.load("default")
        #expect(back == plain && !back.origins.isEmpty, "read back with its origins: \(back.origins.count)")
        // the entry holds the very lines a scan of the text finds
        let text = try defaultText()
        let entry = try #require(CompiledFilterStore.decodeEntry(
            try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + CompiledFilterStore.documentFileName(for: text)))), text: text))
        #expect(entry.lines["seccomp"] != nil && entry.lines == JSONSourceMap(text).lines)
        // A policy that parses but is refused, read twice, the second time from the store.
        let bad = folder + "/../bad.json"
        try "{ \"version\": 1, \"include\": \"base\",\n  \"timeout\": \"soon\" }".write(toFile: bad, atomically: true, encoding: .utf8)
        var messages: [String] = []
        for _ in 0..<2 {
            do { _ = try reader.load(bad); Issue.record("'soon' is no timeout") } catch { messages.append("\(error)") }
        }
        #expect(messages.count == 2 && messages[0] == messages[1] && messages[0].contains("bad.json:2"), "\(messages)")
    }

    /// An ordinary user's commands run under the user's own uid: a command run from the home
    /// could write the user's cache folder. So Confine keeps no cache for an ordinary user: an
    /// entry planted there (owned by the user, mode 0600, in 0700 folders: sound in every other
    /// way) is not obeyed, and runs write none.
    @Test func anOrdinaryUserKeepsNoCacheItsCommandsCouldRewrite() throws {
        let boundary = BoundaryTests()
        _ = try boundary.asOrdinaryUser(["--version"], in: "/tmp")
        let account = try #require(getpwnam("confine-boundary"))
        let home = String(cString: account.pointee.pw_dir)
        let folder = home + "/.cache/confine/filters"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for path in [home + "/.cache", home + "/.cache/confine", folder] {
            #expect(chown(path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 && chmod(path, 0o700) == 0)
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) { try FileManager.default.removeItem(atPath: folder + "/" + name) }
        let text = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CLITests.fixtures + "/../../../policies/default.json")))
        let swapped = try JSONValue.decode(Array(#"{ "version": 1, "include": "base", "seccomp": { "defaultAction": "SCMP_ACT_ALLOW" } }"#.utf8))
        let name = CompiledFilterStore.documentFileName(for: text)
        try Data(CompiledFilterStore.encodeDocument(swapped, text: text)).write(to: URL(fileURLWithPath: folder + "/" + name))
        #expect(chown(folder + "/" + name, account.pointee.pw_uid, account.pointee.pw_gid) == 0 && chmod(folder + "/" + name, 0o600) == 0)
        let result = try boundary.asOrdinaryUser(["run", "--", "./ConfineProbe", "socket-inet"], in: nil)
        #expect(result.text.hasPrefix("refused"), "the policy file as written, not the planted document: \(result.text) \(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [name], "the run kept nothing")
    }
}
