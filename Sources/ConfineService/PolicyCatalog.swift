import Confine
import ConfinePolicy
import Foundation

/// The policies a request may name, loaded and compiled once at start-up, and the rule that a
/// key never gets a laxer policy than it was granted.
public final class PolicyCatalog: Sendable {
    public let policies: [String: Policy]
    private let executors: [String: Executor]

    /// Loads every `*.json` policy in the search paths (the first of a name wins) and binds an
    /// executor to each, all sharing `base`'s spawn helper.
    /// - Throws: `PolicyError` for a policy file that does not parse, `ConfineError` if one does not compile.
    public init(searchPaths: [String], base: Executor) throws {
        let reader = PolicyReader(searchPaths: searchPaths)
        var policies: [String: Policy] = [:]
        for directory in searchPaths {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in names.sorted() where file.hasSuffix(".json") {
                let name = String(file.dropLast(5))
                guard Self.isPlainName(name), policies[name] == nil else { continue }
                policies[name] = try reader.load((directory as NSString).appendingPathComponent(file))
            }
        }
        self.policies = policies
        var executors: [String: Executor] = [:]
        for (name, policy) in policies { executors[name] = try base.bound(to: policy) }
        self.executors = executors
    }

    /// The policy names the search paths hold (`NAME.json`), as the catalog would load them.
    public static func availableNames(searchPaths: [String]) -> [String] {
        var names: Set<String> = []
        for directory in searchPaths {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasSuffix(".json") {
                let name = String(file.dropLast(5))
                if isPlainName(name) { names.insert(name) }
            }
        }
        return names.sorted()
    }

    /// A policy name as a request may give it: never a path.
    public static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    /// The policy (and its executor) a key gets for a request: the named one if the key was
    /// granted it or it is nowhere laxer than a granted one, else the key's first grant.
    /// - Throws: `ServiceError` — 400 for an unknown name, 403 for a policy beyond the grants.
    func grant(_ requested: String?, to key: ServiceConfiguration.Key) throws -> (Policy, Executor) {
        guard let first = key.policies.first else {
            throw ServiceError(.forbidden, "PolicyNotGranted", "access key '\(key.id)' is granted no policy to run commands under")
        }
        let name = requested ?? first
        guard Self.isPlainName(name) else {
            throw ServiceError(.badRequest, "InvalidArgument", "policy '\(name)' is not a policy name (letters, digits, '-', '_'; no paths)")
        }
        guard let policy = policies[name], let executor = executors[name] else {
            throw ServiceError(.badRequest, "PolicyNotFound", "unknown policy '\(name)' (available: \(policies.keys.sorted().joined(separator: ", ")))")
        }
        if key.policies.contains(name) { return (policy, executor) }
        let granted = key.policies.compactMap { policies[$0] }
        if granted.contains(where: { !PolicyDiff(from: $0, to: policy).widens }) { return (policy, executor) }
        throw ServiceError(.forbidden, "PolicyNotGranted",
                           "policy '\(name)' is laxer than every policy access key '\(key.id)' is granted (granted: \(key.policies.joined(separator: ", ")))")
    }
}
