@testable import ConfinePolicy
import Foundation
import Testing

/// The policies built into the library are the files in policies/ (scripts/embed-policies.py
/// writes them), and a name no search path holds falls back to them.
@Suite struct ShippedPoliciesTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("policies").path

    @Test func theEmbeddedTextIsThePolicyFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder).filter { $0.hasSuffix(".json") }.sorted()
        #expect(ShippedPolicies.text.keys.sorted() == files.map { String($0.dropLast(5)) })
        for file in files {
            let text = try String(contentsOfFile: Self.folder + "/" + file, encoding: .utf8)
            #expect(ShippedPolicies.text[String(file.dropLast(5))]?.appending("\n") == text,
                    "\(file) changed: run scripts/embed-policies.py")
        }
    }

    @Test func aNameNoSearchPathHoldsIsTheShippedPolicy() throws {
        let reader = PolicyReader(searchPaths: [])
        let embedded = try reader.load("default")
        let fromFile = try PolicyReader(searchPaths: [Self.folder]).load("default")
        #expect(embedded.source == "<shipped>/default.json")
        // The same filter (rules keep their origin file, so compare what they compile to) and limits.
        #expect(try PolicyCompiler.compile(embedded.seccomp).bytes == PolicyCompiler.compile(fromFile.seccomp).bytes)
        #expect(embedded.isolation == fromFile.isolation)
        #expect(embedded.rlimits == fromFile.rlimits && embedded.timeout == fromFile.timeout)
        #expect(throws: PolicyError.self) { try reader.load("no-such-policy") }
    }
}
