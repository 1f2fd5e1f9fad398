@testable import ConfinePolicy
import Foundation
import Testing

/// A cache in memory that counts what it is asked, for `PolicyReader.documents`.
final class CountingDocumentCache: PolicyDocumentCache, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [[UInt8]: (document: JSONValue, lines: [String: Int])] = [:]
    private(set) var hits = 0
    private(set) var stores = 0

    func document(for text: [UInt8]) -> (document: JSONValue, lines: [String: Int])? {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = kept[text] else { return nil }
        hits += 1
        return entry
    }

    func keep(_ document: JSONValue, lines: [String: Int], for text: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        kept[text] = (document, lines)
        stores += 1
    }

    /// Replaces what is kept for `text` (a forged entry).
    func forge(_ document: JSONValue, for text: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        kept[text] = (document, kept[text]?.lines ?? [:])
    }
}

/// Policy files kept parsed across runs (`confine run`): the binary form of a JSON value, and the
/// reader with a cache giving the very policy it gives without one.
@Suite struct PolicyDocumentCacheTests {
    /// A value with every case, edge numbers and text that is not ASCII.
    static let everyKind: JSONValue = .object([
        "null": .null, "yes": .bool(true), "no": .bool(false),
        "max": .unsigned(.max), "min": .signed(.min), "minus one": .signed(-1),
        "half": .double(0.5), "negative zero": .double(-0.0), "huge": .double(1e308),
        "text": .string("Grüße, 世界 🚀 \"quoted\" \\ \n"), "": .string(""),
        "empty array": .array([]), "empty object": .object([:]),
        "nested": .array([.array([.object(["k": .array([.null, .unsigned(0)])])]), .string("x")]),
    ])

    @Test func theBinaryFormReadsBackEveryKindOfValue() throws {
        let bytes = Self.everyKind.binary
        #expect(JSONValue(binary: bytes) == Self.everyKind)
        // Sorted keys: the same value always gives the same bytes.
        #expect(JSONValue(binary: bytes)?.binary == bytes)
    }

    @Test(arguments: ShippedPolicies.text.keys.sorted())
    func theBinaryFormReadsBackEveryShippedPolicy(_ name: String) throws {
        let text = try #require(ShippedPolicies.text[name])
        let document = try JSONValue.decode(Array(text.utf8))
        #expect(JSONValue(binary: document.binary) == document)
    }

    @Test func aDamagedBinaryFormIsRefusedNotTrusted() throws {
        let bytes = Self.everyKind.binary
        // Every truncation is refused: a value that ends early, or a count beyond the bytes.
        for length in 0..<bytes.count {
            #expect(JSONValue(binary: Array(bytes.prefix(length))) == nil, "prefix of \(length) bytes")
        }
        // Trailing bytes, an unknown tag, a string that is not UTF-8, a key twice.
        #expect(JSONValue(binary: bytes + [0]) == nil)
        #expect(JSONValue(binary: [9]) == nil)
        #expect(JSONValue(binary: [6, 2, 0, 0, 0, 0xC3, 0x28]) == nil)
        #expect(JSONValue(binary: [8, 2, 0, 0, 0, 1, 0, 0, 0, 0x61, 0, 1, 0, 0, 0, 0x61, 0]) == nil)
        // A count of four billion items with nothing behind it.
        #expect(JSONValue(binary: [7, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)
        // Nesting: as deep as JSONDecoder reads is read back, one level more is refused.
        func nested(_ levels: Int) -> [UInt8] { Array(repeating: [7, 1, 0, 0, 0], count: levels).flatMap { $0 } + [0] }
        let deepest = try #require(JSONValue(binary: nested(JSONValue.maximumDepth)))
        #expect(deepest.depth == JSONValue.maximumDepth)
        #expect(JSONValue(binary: nested(JSONValue.maximumDepth + 1)) == nil)
        // Any single byte changed: refused or another value, and no crash — all this loop can
        // show (the entry's checksum and its stored text are what keep a changed entry from
        // being used: FilterCacheTests).
        for index in bytes.indices {
            var changed = bytes
            changed[index] ^= 0xA5
            _ = JSONValue(binary: changed)
        }
    }

    @Test(arguments: ["default", "strict", "network", "python", "base"])
    func aReaderWithACacheGivesTheSamePolicy(_ name: String) throws {
        let plain = try PolicyReader().load(name)
        let cache = CountingDocumentCache()
        var reader = PolicyReader()
        reader.documents = cache
        let first = try reader.load(name)
        #expect(cache.stores >= 1 && cache.hits == 0, "the first read keeps each file it parsed")
        let second = try reader.load(name)
        #expect(cache.hits == cache.stores, "the second read parses nothing: \(cache.hits) of \(cache.stores)")
        #expect(first == plain && second == plain, "the same policy, field for field, with its origins (file:line)")
    }

    @Test func errorsStillNameFileLineAndFieldWithACache() throws {
        // JSON that parses, with a field the reader refuses: kept parsed, refused on each read.
        let path = fixture("unknown-key.json")
        let cache = CountingDocumentCache()
        var reader = PolicyReader()
        reader.documents = cache
        var messages: [String] = []
        for _ in 0..<2 {
            do {
                _ = try reader.load(path)
                Issue.record("the fixture should be refused")
            } catch {
                messages.append("\(error)")
            }
        }
        #expect(cache.hits == 1, "the second read came from the cache")
        #expect(messages.count == 2 && messages[0] == messages[1], "\(messages)")
        #expect(messages.first?.contains("unknown-key.json:") == true, "\(messages)")
    }

    @Test func theReaderAsksForTheFilesWholeText() throws {
        // The reader hands the cache the file's exact text: an edited file is a new key. (The
        // real store's byte-for-byte check of that text: FilterCacheTests.)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("confine-doc-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let original = #"{ "version": 1, "include": "base", "timeout": "5s" }"#
        let edited = #"{ "version": 1, "include": "base", "timeout": "6s" }"#
        try original.write(toFile: folder + "/mine.json", atomically: true, encoding: .utf8)
        let cache = CountingDocumentCache()
        var reader = PolicyReader()
        reader.documents = cache
        #expect(try reader.load(folder + "/mine.json").timeout == .seconds(5))
        cache.forge(try JSONValue.decode(Array(#"{ "version": 1, "include": "base", "timeout": "9s" }"#.utf8)), for: Array(original.utf8))
        #expect(try reader.load(folder + "/mine.json").timeout == .seconds(9), "the forged entry is what the reader trusts")
        try edited.write(toFile: folder + "/mine.json", atomically: true, encoding: .utf8)
        #expect(try reader.load(folder + "/mine.json").timeout == .seconds(6), "an edited file is parsed afresh")
    }
}
