import Confine
import ConfinePolicy
import FoundationEssentials

/// The functions a service runs: read from a JSON file, checked field by field, every error
/// naming the file, the line and the field.
///
/// ```json
/// { "version": 1, "service": "demo", "region": "cn-hangzhou", "accountID": "1234",
///   "credentials": { "source": "environment" },
///   "functions": { "json-key": { "handler": "index.handler", "runtime": "python3",
///                                "codeDirectory": "json-key", "policy": "python",
///                                "memory": 128, "timeout": "10s", "environment": {},
///                                "grants": { "readOnly": ["/srv/models"], "readWrite": [] } } } }
/// ```
public struct FunctionConfiguration: Sendable {
    public enum Runtime: String, Sendable, CaseIterable {
        /// A `FunctionHandler` registered under the handler name.
        case swift
        /// A Function Compute style `def handler(event, context)` file, run by the bootstrap.
        case python3
        /// Any executable: event on stdin, result on stdout.
        case executable
    }

    public struct Function: Sendable {
        public var name: String
        public var handler: String
        public var runtime: Runtime
        /// Absolute path of the code (python3 and executable runtimes).
        public var codeDirectory: String?
        public var policy: Policy
        /// Memory size in MB, as FC's `memorySize`.
        public var memory: Int
        /// How long one invocation may run.
        public var timeout: Duration
        public var environment: [String: String]
        /// Paths added to the function's view (canonical), each admitted by its policy
        /// (`FilesystemGrants`): `"grants": {"readOnly": [...], "readWrite": [...]}`.
        public var grants: [String: Isolation.Access] = [:]
    }

    /// Where credentials come from.
    public enum CredentialSource: Sendable {
        /// In the file: for development.
        case fixed(Credentials)
        /// ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN.
        case environment
    }

    public var file: String
    public var service: String
    public var region: String
    public var accountID: String
    public var credentials: CredentialSource
    public var functions: [String: Function]

    /// The credentials as of now.
    /// - Throws: `FunctionError` ("CredentialsUnavailable") when the environment lacks them.
    public func currentCredentials() throws -> Credentials {
        switch credentials {
        case .fixed(let credentials): return credentials
        case .environment:
            let env = ProcessInfo.processInfo.environment
            guard let id = env["ALIBABA_CLOUD_ACCESS_KEY_ID"], let secret = env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] else {
                throw FunctionError("CredentialsUnavailable", "credentials come from the environment, but ALIBABA_CLOUD_ACCESS_KEY_ID or ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set")
            }
            return Credentials(accessKeyID: id, accessKeySecret: secret, securityToken: env["ALIBABA_CLOUD_SECURITY_TOKEN"] ?? "")
        }
    }

    /// Reads and checks a configuration file.
    /// - Throws: `PolicyError` (file, line, field, message) for the file or a policy it names.
    public static func load(_ path: String, policies: PolicyReader = PolicyReader()) throws -> FunctionConfiguration {
        let (root, walker) = try Walker.open(path)
        func error(_ field: String, _ message: String) -> PolicyError { walker.error(field, message) }
        func object(_ value: JSONValue, _ field: String, _ allowed: [String]) throws -> [String: JSONValue] {
            try walker.object(value, field, allowed: allowed)
        }
        func string(_ value: JSONValue?, _ field: String, default fallback: String? = nil) throws -> String {
            guard let value else {
                if let fallback { return fallback }
                throw error(field, "is required")
            }
            guard case .string(let s) = value, !s.isEmpty else { throw error(field, "expected a non-empty string, found \(value.typeName)") }
            return s
        }
        let fields = try object(root, "", ["version", "service", "region", "accountID", "credentials", "functions", "comment"])
        if let version = fields["version"], version != .unsigned(1) { throw error("version", "unsupported version (accepted: 1)") }
        let directory = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path

        var credentials = CredentialSource.environment
        if let raw = fields["credentials"] {
            let c = try object(raw, "credentials", ["source", "accessKeyID", "accessKeySecret", "securityToken"])
            switch try string(c["source"], "credentials.source") {
            case "environment": credentials = .environment
            case "static":
                credentials = .fixed(Credentials(
                    accessKeyID: try string(c["accessKeyID"], "credentials.accessKeyID"),
                    accessKeySecret: try string(c["accessKeySecret"], "credentials.accessKeySecret"),
                    securityToken: try string(c["securityToken"], "credentials.securityToken", default: "")))
            case let other: throw error("credentials.source", "unknown source '\(other)' (accepted: static, environment)")
            }
        }

        guard case .object(let entries)? = fields["functions"], !entries.isEmpty else {
            throw error("functions", "expected an object of functions by name, with at least one")
        }
        var functions: [String: Function] = [:]
        for (name, raw) in entries {
            let base = "functions.\(name)"
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw error(base, "function name '\(name)' may hold letters, digits, '-' and '_' only")
            }
            let f = try object(raw, base, ["handler", "runtime", "codeDirectory", "policy", "memory", "timeout", "environment", "grants", "comment"])
            let runtimeName = try string(f["runtime"], "\(base).runtime")
            guard let runtime = Runtime(rawValue: runtimeName) else {
                throw error("\(base).runtime", "unknown runtime '\(runtimeName)' (accepted: \(Runtime.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let handler = try string(f["handler"], "\(base).handler")
            if runtime == .python3 {
                let parts = handler.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else {
                    throw error("\(base).handler", "'\(handler)' is not module.function (e.g. index.handler)")
                }
            }
            var code: String?
            if runtime != .swift {
                let relative = try string(f["codeDirectory"], "\(base).codeDirectory")
                let absolute = relative.hasPrefix("/") ? relative : URL(fileURLWithPath: directory).appendingPathComponent(relative).path
                var isDirectory = false
                guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory else {
                    throw error("\(base).codeDirectory", "'\(absolute)' is not a directory")
                }
                // Resolved: it is granted to the function's view, and grants are canonical paths.
                code = SystemCalls.realPath(absolute) ?? URL(fileURLWithPath: absolute).standardized.path
                // The code is shown to the function whole (at /code): never with this file (its secrets) inside.
                if let code, let own = SystemCalls.realPath(path), own.hasPrefix(code == "/" ? "/" : code + "/") {
                    throw error("\(base).codeDirectory", "'\(code)' holds this configuration file (\(own)), which the function would see: keep each function's code in a folder of its own")
                }
                // The handler itself, now rather than at every request.
                if let code { try Self.checkHandler(handler, runtime: runtime, in: code) { message in error("\(base).handler", message) } }
            }
            let policyName = try string(f["policy"], "\(base).policy", default: runtime == .python3 ? "python" : "default")
            let policy: Policy
            do {
                // A file (with a / or .json) is relative to the configuration; a name is looked up.
                let isFile = policyName.contains("/") || policyName.hasSuffix(".json")
                let local = policyName.hasPrefix("/") ? policyName : URL(fileURLWithPath: directory).appendingPathComponent(policyName).path
                policy = try policies.load(isFile ? local : policyName)
            } catch var problem as PolicyError {
                if problem.path.isEmpty && problem.file == policyName { problem = error("\(base).policy", problem.message) }
                throw problem
            }
            var memory = 128
            if let raw = f["memory"] {
                guard case .unsigned(let mb) = raw, (64...16384).contains(mb) else {
                    throw error("\(base).memory", "expected megabytes from 64 to 16384")
                }
                memory = Int(mb)
            }
            var timeout = policy.timeout ?? .seconds(60)
            if let raw = f["timeout"] {
                let parsed: Duration?
                switch raw {
                case .string(let text): parsed = Quantity.parseDuration(text)
                case .unsigned(let seconds): parsed = .seconds(Int64(clamping: seconds))
                case .double(let seconds) where seconds > 0: parsed = Quantity.seconds(seconds)
                default: parsed = nil
                }
                guard let parsed, parsed > .zero, parsed <= .seconds(86_400) else {
                    throw error("\(base).timeout", "expected a duration from 1ms to 24h (\(Quantity.acceptedDurations))")
                }
                timeout = parsed
            }
            var environment: [String: String] = [:]
            if let raw = f["environment"] {
                guard case .object(let vars) = raw else { throw error("\(base).environment", "expected an object of strings") }
                for (key, value) in vars {
                    guard case .string(let s) = value, !key.isEmpty, !key.contains("="), !key.utf8.contains(0), !s.utf8.contains(0) else {
                        throw error("\(base).environment.\(key)", "expected a string value and a name without '=' or NUL")
                    }
                    environment[key] = s
                }
            }
            var grants: [String: Isolation.Access] = [:]
            if let raw = f["grants"] {
                let g = try object(raw, "\(base).grants", ["readOnly", "readWrite", "comment"])
                for access in [Isolation.Access.readOnly, .readWrite] {
                    guard let list = g[access.rawValue] else { continue }
                    let field = "\(base).grants.\(access.rawValue)"
                    guard case .array(let items) = list else { throw error(field, "expected an array of paths") }
                    for (i, item) in items.enumerated() {
                        guard case .string(let given) = item, !given.isEmpty else { throw error("\(field)[\(i)]", "expected a path (absolute, or relative to \(directory))") }
                        let absolute = given.hasPrefix("/") ? given : URL(fileURLWithPath: directory).appendingPathComponent(given).path
                        do {
                            grants[try FilesystemGrants.admit(absolute, access, policy: policy, source: "grant")] = access
                        } catch let refusal as ConfineError {
                            throw error("\(field)[\(i)]", refusal.message)
                        }
                    }
                }
            }
            functions[name] = Function(name: name, handler: handler, runtime: runtime, codeDirectory: code, policy: policy,
                                       memory: memory, timeout: timeout, environment: environment, grants: grants)
        }
        return FunctionConfiguration(
            file: path, service: try string(fields["service"], "service", default: "default"),
            region: try string(fields["region"], "region", default: "local"),
            accountID: try string(fields["accountID"], "accountID", default: "0"),
            credentials: credentials, functions: functions)
    }
}

extension FunctionConfiguration {
    /// A handler that is in its code folder: for `executable` a program there, for `python3`
    /// the module its `module.function` names (`index.handler` → `index.py`, a package
    /// `index/`, or a compiled `index.*.so`); `fail` makes the error naming the field.
    static func checkHandler(_ handler: String, runtime: Runtime, in code: String, fail: (String) -> PolicyError) throws {
        switch runtime {
        case .executable:
            let program = URL(fileURLWithPath: code).appendingPathComponent(handler).path
            var isDirectory = false
            guard FileManager.default.fileExists(atPath: program, isDirectory: &isDirectory), !isDirectory,
                  FileManager.default.isExecutableFile(atPath: program) else {
                throw fail("'\(handler)' is not an executable file in \(code) (the handler of an executable function is a program in its codeDirectory)")
            }
        case .python3:
            let parts = handler.split(separator: ".").dropLast().map(String.init)
            let module = parts.joined(separator: "/")
            let base = URL(fileURLWithPath: code).appendingPathComponent(module).path
            let folder = URL(fileURLWithPath: base).deletingLastPathComponent().path, name = parts.last ?? ""
            let compiled = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains { $0.hasPrefix(name + ".") && $0.hasSuffix(".so") }
            guard FileManager.default.fileExists(atPath: base + ".py") || FileManager.default.fileExists(atPath: base + "/__init__.py") || compiled else {
                throw fail("no module '\(parts.joined(separator: "."))' in \(code): '\(handler)' loads \(module).py (or the package \(module)/)")
            }
        case .swift:
            return
        }
    }
}
