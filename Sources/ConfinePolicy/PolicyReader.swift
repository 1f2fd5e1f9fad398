import CSeccomp
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Policy files kept parsed across runs, by their exact text: `document(for:)` answers only for
/// a text byte for byte the same as the one `keep` was given.
package protocol PolicyDocumentCache: Sendable {
    /// What was kept for exactly this text: its JSON value, and the line of each field path
    /// (`JSONSourceMap.lines`) for the file:line of errors and origins.
    func document(for text: [UInt8]) -> (document: JSONValue, lines: [String: Int])?
    func keep(_ document: JSONValue, lines: [String: Int], for text: [UInt8])
}

/// Reads policy files: strict JSON (unknown keys are errors), `include` resolved relative to
/// the including file, every error naming the file, the line and the field path.
public struct PolicyReader: Sendable {
    /// Directories searched for a policy given by name, in order.
    public var searchPaths: [String]

    /// Where policy files already read are kept parsed, across runs (`confine run`'s cache
    /// folder); nil reads every file afresh. Only the steps from JSON text to a JSON value and
    /// its lines are skipped (a text is kept only once it was read without a syntax error):
    /// every field's validation is done on every read, as without a cache.
    package var documents: (any PolicyDocumentCache)?

    public init(searchPaths: [String] = PolicyReader.defaultSearchPaths()) {
        self.searchPaths = searchPaths
    }

    /// `policies/` of the package the running binary was built from, then `$CONFINE_POLICY_PATH`,
    /// then the administrator's `/etc/confine/policies`, then those of an installation:
    /// `PREFIX/share/confine/policies` for a binary in `PREFIX/bin` (`scripts/install.sh`). The
    /// first folder that holds a name wins; a name none holds is the built-in policy.
    public static func defaultSearchPaths() -> [String] {
        var paths: [String] = []
        // Plain system calls and string slicing here, not URL and FileManager: this runs before
        // every `confine run`, and Foundation's path machinery cost ~0.7 ms of it.
        let running = runningExecutable()
        if let shipped = shippedPoliciesDirectory(running: running) { paths.append(shipped) }
        if let extra = getenv("CONFINE_POLICY_PATH") {
            paths += String(cString: extra).split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        for folder in ["/etc/confine/policies", installedPoliciesDirectory(running: running)].compactMap({ $0 })
        where !paths.contains(folder) && isDirectory(folder) {
            paths.append(folder)
        }
        return paths
    }

    /// `PREFIX/share/confine/policies` for the running binary at `PREFIX/bin/...`.
    public static func installedPoliciesDirectory() -> String? {
        installedPoliciesDirectory(running: runningExecutable())
    }

    private static func installedPoliciesDirectory(running: String?) -> String? {
        guard let running, let bin = parent(of: running), bin.hasSuffix("/bin"), let prefix = parent(of: bin) else { return nil }
        return (prefix == "/" ? "" : prefix) + "/share/confine/policies"
    }

    /// This process's executable, symbolic links resolved (`/proc/self/exe`), found once: the
    /// policy search paths and the launcher's location both start from it.
    package static let ownExecutable: String? = {
        guard let path = realpath("/proc/self/exe", nil) else { return nil }
        defer { free(path) }
        return String(cString: path)
    }()

    /// The running executable's own path, symbolic links resolved (`/proc/self/exe`, else argv[0]).
    private static func runningExecutable() -> String? {
        if let own = ownExecutable { return own }
        if let path = CommandLine.arguments.first.flatMap({ realpath($0, nil) }) {
            defer { free(path) }
            return String(cString: path)
        }
        return nil
    }

    /// The folder that holds `path` (an absolute path), nil for `/`.
    private static func parent(of path: String) -> String? {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` made absolute against the current directory (nothing else resolved).
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let here = getcwd(nil, 0) else { return path }
        defer { free(here) }
        let folder = String(cString: here)
        return (folder == "/" ? "" : folder) + "/" + path
    }

    /// `path` made absolute against the current directory, with `.`, `..` and repeated slashes
    /// resolved (symbolic links are not): what a file is known by in an include chain.
    public static func standardized(_ path: String) -> String {
        var components: [Substring] = []
        if !path.hasPrefix("/"), let here = getcwd(nil, 0) {
            components = String(cString: here).split(separator: "/")
            free(here)
        }
        for component in path.split(separator: "/") where component != "." {
            if component == ".." {
                if !components.isEmpty { components.removeLast() }
            } else {
                components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// A policy file's name without its folder and extension (`policies/strict.json` → `strict`).
    static func stem(of path: String) -> String {
        let name = path.split(separator: "/").last ?? Substring(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return String(name) }
        return String(name[..<dot])
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names of the policies built into the library (`default`, `strict`, ...), which a
    /// name no search path holds falls back to.
    public static var builtInNames: [String] { ShippedPolicies.text.keys.sorted() }

    /// The `policies/` directory next to the package that holds the running executable
    /// (`.build/debug/confine` → `policies/`), if there is one.
    public static func shippedPoliciesDirectory() -> String? {
        shippedPoliciesDirectory(running: runningExecutable())
    }

    private static func shippedPoliciesDirectory(running: String?) -> String? {
        guard let running else { return nil }
        var directory = parent(of: running)
        for _ in 0..<6 {
            guard let folder = directory else { return nil }
            let base = folder == "/" ? "" : folder
            if isDirectory(base + "/policies"), access(base + "/Package.swift", F_OK) == 0 {
                return base + "/policies"
            }
            directory = parent(of: folder)
        }
        return nil
    }

    /// Loads a policy by name (`default`) or by path (anything with a `/` or ending `.json`). A
    /// name no search path holds falls back to the shipped policy of that name, built into the
    /// library (its errors name `<shipped>/NAME.json`).
    /// - Throws: `PolicyError` naming the file, line and field of the first problem.
    public func load(_ nameOrPath: String) throws -> Policy {
        try loadFile(resolve(nameOrPath, from: nil), chain: [])
    }

    /// Parses a policy from text, as if read from `file` (used for `include` resolution too).
    /// - Throws: `PolicyError` naming the file, line and field of the first problem.
    public func parse(_ text: [UInt8], file: String) throws -> Policy {
        try parse(text, file: file, chain: [])
    }

    /// The path of a policy given by name or path.
    /// - Throws: `PolicyError` when no search path holds the name and no policy of that name is shipped.
    public func resolve(_ nameOrPath: String, from includingFile: String?) throws -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".json") {
            if nameOrPath.hasPrefix("/") || includingFile == nil { return nameOrPath }
            return URL(fileURLWithPath: includingFile!).deletingLastPathComponent().appendingPathComponent(nameOrPath).path
        }
        let shipped = ShippedPolicies.path(of: nameOrPath)
        // A shipped policy includes the shipped ones, whatever the search path holds.
        if let includingFile, ShippedPolicies.text(at: includingFile) != nil, let shipped { return shipped }
        var directories = searchPaths
        // the including file's own folder, `..` left to the kernel (through symbolic links, as
        // opening the file went)
        if let includingFile, let folder = Self.parent(of: Self.absolute(includingFile)) { directories.insert(folder, at: 0) }
        for directory in directories {
            let candidate = directory + "/" + nameOrPath + ".json"
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        // Built into the library: a program that depends on Confine has no policies/ folder.
        if let shipped { return shipped }
        let known = Set(directories.flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] }
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) } + Self.builtInNames).sorted()
        // where it looked: the folders searched, or (an installed binary with no policy folder)
        // the folders it would have searched
        let looked = directories.isEmpty
            ? "no policy folder (\((["/etc/confine/policies"] + [Self.installedPoliciesDirectory()].compactMap { $0 }).joined(separator: " and ")): none exists)"
            : directories.joined(separator: ", ")
        throw PolicyError(
            file: includingFile ?? nameOrPath, path: includingFile == nil ? "" : "include",
            message: "no policy named '\(nameOrPath)' in \(looked) nor among the built-in ones"
                + " (available: \(known.joined(separator: ", ")))"
                + "; set CONFINE_POLICY_PATH or give a file path")
    }

    private func loadFile(_ path: String, chain: [String]) throws -> Policy {
        if let text = ShippedPolicies.text(at: path) { return try parse(Array(text.utf8), file: path, chain: chain) }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw PolicyError(file: path, path: "", message: "the policy file \(reason)")
        }
        return try parse([UInt8](data), file: path, chain: chain)
    }

    private func parse(_ text: [UInt8], file: String, chain: [String]) throws -> Policy {
        let map: JSONSourceMap
        let root: JSONValue
        if let cached = documents?.document(for: text) {
            map = JSONSourceMap(lines: cached.lines)
            root = cached.document
        } else {
            map = JSONSourceMap(text)
            if let syntax = map.syntaxError {
                throw PolicyError(file: file, line: syntax.line, path: "", message: "not valid JSON: \(syntax.message)")
            }
            do {
                root = try JSONDecoder().decode(JSONValue.self, from: Data(text))
            } catch {
                throw PolicyError(file: file, line: 1, path: "", message: "not valid JSON: \(error)")
            }
            documents?.keep(root, lines: map.lines, for: text)
        }
        let walker = Walker(file: file, map: map)
        let fields = try walker.object(root, "", allowed: [
            "version", "name", "description", "include", "commands", "seccomp", "rlimits", "timeout",
            "outputLimit", "environment", "workingDirectory", "user", "isolation", "comment",
        ])

        if let version = fields["version"] {
            let v = try walker.integer(version, "version")
            guard v == 1 else { throw walker.error("version", "unsupported version \(v) (accepted: 1)") }
        }
        let stem = Self.stem(of: file)
        var policy: Policy
        if let include = fields["include"] {
            let name = try walker.string(include, "include")
            let includedPath: String
            do { includedPath = try resolve(name, from: file) } catch var error as PolicyError {
                error.line = map.line(of: "include")
                throw error
            }
            let canonical = Self.standardized(includedPath)
            let here = Self.standardized(file)
            if chain.contains(canonical) || canonical == here {
                throw walker.error("include", "include cycle: \((chain + [here, canonical]).joined(separator: " -> "))")
            }
            policy = try loadFile(includedPath, chain: chain + [here])
            policy.description = ""
        } else {
            policy = Policy(name: stem)
        }
        policy.name = stem
        policy.source = file
        for (path, line) in map.lines where !path.isEmpty {
            policy.origins[path] = "\(file):\(line)"
        }

        if let name = fields["name"] { policy.name = try walker.string(name, "name") }
        if let description = fields["description"] { policy.description = try walker.string(description, "description") }
        if let commands = fields["commands"] { try walker.commands(commands, into: &policy.commands) }
        if let seccomp = fields["seccomp"] { try walker.seccomp(seccomp, into: &policy.seccomp) }
        if let rlimits = fields["rlimits"] { try walker.rlimits(rlimits, into: &policy.rlimits) }
        if let timeout = fields["timeout"] { policy.timeout = try walker.duration(timeout, "timeout", allowZero: false) }
        if let limit = fields["outputLimit"] {
            let bytes = try walker.size(limit, "outputLimit")
            guard bytes > 0, bytes <= UInt64(Int.max) else { throw walker.error("outputLimit", "must be at least 1 byte") }
            policy.outputLimit = Int(bytes)
        }
        if let environment = fields["environment"] { policy.environment = try walker.environment(environment) }
        if let directory = fields["workingDirectory"] {
            let path = try walker.string(directory, "workingDirectory")
            guard path.hasPrefix("/") else { throw walker.error("workingDirectory", "'\(path)' is not an absolute path") }
            policy.workingDirectory = path
        }
        if let user = fields["user"] { policy.user = try walker.user(user) }
        if let isolation = fields["isolation"] { try walker.isolation(isolation, into: &policy.isolation, warnings: &policy.warnings) }
        return policy
    }
}

extension Walker {
    /// `isolation`: each field given replaces the included policy's.
    func isolation(_ value: JSONValue, into isolation: inout Isolation, warnings: inout [String]) throws {
        let fields = try object(value, "isolation", allowed: ["required", "filesystem", "network", "processes", "ipc", "memory", "cpu", "comment"])
        if let raw = fields["required"] {
            guard case .bool(let b) = raw else { throw error("isolation.required", "expected true or false, found \(raw.typeName)") }
            isolation.required = b
        }
        if let raw = fields["filesystem"] {
            if raw == .null { isolation.filesystem = nil } else {
                let f = try object(raw, "isolation.filesystem", allowed: ["readOnly", "readWrite", "tmp", "workingDirectory", "workingDirectories", "readOnlyRoot", "writableExecutable", "grants", "comment"])
                var filesystem = Isolation.Filesystem()
                func paths(_ key: String) throws -> [String] {
                    guard let raw = f[key] else { return [] }
                    var list = try strings(raw, "isolation.filesystem.\(key)")
                    for (i, path) in list.enumerated().reversed() {
                        let field = "isolation.filesystem.\(key)[\(i)]"
                        guard path.hasPrefix("/") else { throw error(field, "'\(path)' is not an absolute path") }
                        guard !path.split(separator: "/").contains("..") else { throw error(field, "'\(path)' contains '..'") }
                        var info = stat()
                        if lstat(path, &info) != 0 {
                            // A missing path grants nothing; with required isolation it is an error.
                            let problem = error(field, "'\(path)' does not exist on this machine")
                            if isolation.required { throw problem }
                            warnings.append("\(problem.description); skipped")
                            list.remove(at: i)
                        }
                    }
                    return list
                }
                filesystem.readOnly = try paths("readOnly")
                filesystem.readWrite = try paths("readWrite")
                for (i, path) in filesystem.readWrite.enumerated() where filesystem.readOnly.contains(path) {
                    throw error("isolation.filesystem.readWrite[\(i)]", "'\(path)' is listed both readOnly and readWrite: a conflicting rule (keep one)")
                }
                if let tmp = f["tmp"] {
                    if tmp == .bool(false) || tmp == .null { filesystem.tmp = nil } else {
                        let bytes = try size(tmp, "isolation.filesystem.tmp")
                        guard bytes >= 4096 else { throw error("isolation.filesystem.tmp", "must be at least 4KiB") }
                        filesystem.tmp = bytes
                    }
                }
                if let raw = f["workingDirectory"] {
                    let text = try string(raw, "isolation.filesystem.workingDirectory")
                    guard let access = Isolation.Access(rawValue: text) else {
                        throw error("isolation.filesystem.workingDirectory", "unknown access '\(text)' (accepted: \(Isolation.Access.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    filesystem.workingDirectory = access
                }
                if let raw = f["grants"] {
                    let text = try string(raw, "isolation.filesystem.grants")
                    guard let access = Isolation.Access(rawValue: text) else {
                        throw error("isolation.filesystem.grants", "unknown access '\(text)' (accepted: \(Isolation.Access.allCases.map(\.rawValue).joined(separator: ", ")): the most a caller may add for one run)")
                    }
                    filesystem.grants = access
                }
                if let raw = f["workingDirectories"] {
                    let rules = try strings(raw, "isolation.filesystem.workingDirectories")
                    for (i, rule) in rules.enumerated() {
                        if let problem = WorkingDirectoryRules.problem(rule) {
                            throw error("isolation.filesystem.workingDirectories[\(i)]", "\(problem) (accepted: absolute path patterns such as \"/srv/jobs/*\", or \"!/srv/jobs/private\" to refuse)")
                        }
                    }
                    filesystem.workingDirectories = rules
                }
                if let raw = f["readOnlyRoot"] {
                    guard case .bool(let b) = raw else { throw error("isolation.filesystem.readOnlyRoot", "expected true or false, found \(raw.typeName)") }
                    filesystem.readOnlyRoot = b
                }
                if let raw = f["writableExecutable"] {
                    guard case .bool(let b) = raw else { throw error("isolation.filesystem.writableExecutable", "expected true or false, found \(raw.typeName)") }
                    filesystem.writableExecutable = b
                }
                isolation.filesystem = filesystem
            }
        }
        if let raw = fields["network"] {
            let text = try string(raw, "isolation.network")
            guard let network = Isolation.Network(rawValue: text) else {
                throw error("isolation.network", "unknown network '\(text)' (accepted: none — a namespace with loopback only, host)")
            }
            isolation.network = network
        }
        if let raw = fields["processes"] {
            let p = try object(raw, "isolation.processes", allowed: ["namespace", "max", "comment"])
            if let ns = p["namespace"] {
                guard case .bool(let b) = ns else { throw error("isolation.processes.namespace", "expected true or false, found \(ns.typeName)") }
                isolation.pidNamespace = b
            }
            if let max = p["max"] {
                let n = try unsigned(max, "isolation.processes.max")
                guard n >= 1 && n <= 1 << 22 else { throw error("isolation.processes.max", "must be between 1 and 4194304") }
                isolation.maxProcesses = Int(n)
            }
        }
        if let raw = fields["ipc"] {
            let text = try string(raw, "isolation.ipc")
            guard text == "private" || text == "host" else { throw error("isolation.ipc", "unknown ipc '\(text)' (accepted: private, host)") }
            isolation.privateIPC = text == "private"
        }
        if let raw = fields["memory"] {
            let bytes = try size(raw, "isolation.memory")
            guard bytes >= 1 << 20 else { throw error("isolation.memory", "must be at least 1MiB") }
            isolation.memory = bytes
        }
        if let raw = fields["cpu"] {
            let cores: Double
            switch raw {
            case .unsigned(let u): cores = Double(u)
            case .double(let d): cores = d
            default: throw error("isolation.cpu", "expected a number of cores (0.5, 1, 2), found \(raw.typeName)")
            }
            guard cores >= 0.01 && cores <= 1024 else { throw error("isolation.cpu", "must be between 0.01 and 1024 cores") }
            isolation.cpu = cores
        }
    }
}

/// Walks the decoded JSON with the current field path, turning every mismatch into a
/// `PolicyError` with the file and line.
package struct Walker {
    let file: String
    let map: JSONSourceMap

    package init(file: String, map: JSONSourceMap) {
        self.file = file
        self.map = map
    }

    /// Reads a JSON file of Confine's (functions, service): its value and a walker over it.
    /// - Throws: `PolicyError` naming the file (and the line of a syntax error).
    package static func open(_ path: String) throws -> (JSONValue, Walker) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PolicyError(file: path, path: "", message: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist")
        }
        let text = [UInt8](data)
        let map = JSONSourceMap(text)
        if let syntax = map.syntaxError {
            throw PolicyError(file: path, line: syntax.line, path: "", message: "not valid JSON: \(syntax.message)")
        }
        return (try JSONValue.decode(text), Walker(file: path, map: map))
    }

    package func error(_ path: String, _ message: String) -> PolicyError {
        PolicyError(file: file, line: map.line(of: path), path: path, message: message)
    }

    package func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    package func object(_ value: JSONValue, _ path: String, allowed: [String]) throws -> [String: JSONValue] {
        guard case .object(let fields) = value else {
            throw error(path, "expected an object, found \(value.typeName)")
        }
        for key in fields.keys.sorted() where !allowed.contains(key) {
            throw error(join(path, key), "unknown field '\(key)' (accepted: \(allowed.joined(separator: ", ")))")
        }
        return fields
    }

    package func string(_ value: JSONValue, _ path: String) throws -> String {
        guard case .string(let s) = value else { throw error(path, "expected a string, found \(value.typeName)") }
        guard !s.utf8.contains(0) else { throw error(path, "contains a NUL byte") }
        return s
    }

    package func strings(_ value: JSONValue, _ path: String) throws -> [String] {
        guard case .array(let items) = value else { throw error(path, "expected an array of strings, found \(value.typeName)") }
        return try items.enumerated().map { try string($1, "\(path)[\($0)]") }
    }

    package func integer(_ value: JSONValue, _ path: String) throws -> Int64 {
        switch value {
        case .unsigned(let u) where u <= UInt64(Int64.max): return Int64(u)
        case .signed(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int64(d)
        default: throw error(path, "expected an integer, found \(value.typeName)")
        }
    }

    package func unsigned(_ value: JSONValue, _ path: String) throws -> UInt64 {
        switch value {
        case .unsigned(let u): return u
        case .double(let d) where d == d.rounded() && d >= 0 && d < 1.8e19: return UInt64(d)
        case .signed(let i): throw error(path, "must not be negative (found \(i))")
        default: throw error(path, "expected a non-negative integer, found \(value.typeName)")
        }
    }

    package func size(_ value: JSONValue, _ path: String) throws -> UInt64 {
        if case .string(let text) = value {
            guard let bytes = Quantity.parseSize(text) else {
                throw error(path, "bad size '\(text)' (accepted: \(Quantity.acceptedSizes))")
            }
            return bytes
        }
        do { return try unsigned(value, path) } catch {
            throw self.error(path, "expected a size, found \(value.typeName) (accepted: \(Quantity.acceptedSizes))")
        }
    }

    package func duration(_ value: JSONValue, _ path: String, allowZero: Bool) throws -> Duration {
        let parsed: Duration?
        switch value {
        case .string(let text): parsed = Quantity.parseDuration(text)
        case .unsigned(let u): parsed = .seconds(Int64(clamping: u))
        case .double(let d) where d >= 0 && d.isFinite: parsed = Quantity.seconds(d)
        case .signed(let i): throw error(path, "must not be negative (found \(i))")
        case .double(let d): throw error(path, "must be a finite, non-negative number of seconds (found \(d))")
        default: parsed = nil
        }
        guard let parsed else { throw error(path, "bad duration \(describe(value)) (accepted: \(Quantity.acceptedDurations))") }
        if !allowZero && parsed == .zero { throw error(path, "must be greater than zero") }
        return parsed
    }

    package func describe(_ value: JSONValue) -> String {
        if case .string(let s) = value { return "'\(s)'" }
        return value.typeName
    }

    func commands(_ value: JSONValue, into rule: inout CommandRule) throws {
        let fields = try object(value, "commands", allowed: ["allow", "deny"])
        if let allow = fields["allow"] {
            rule.allow = try strings(allow, "commands.allow")
            for (i, entry) in rule.allow.enumerated() where entry.isEmpty {
                throw error("commands.allow[\(i)]", "empty command name")
            }
        }
        if let deny = fields["deny"] {
            let entries = try strings(deny, "commands.deny")
            for (i, entry) in entries.enumerated() where entry.isEmpty {
                throw error("commands.deny[\(i)]", "empty command name")
            }
            rule.deny += entries.filter { !rule.deny.contains($0) }
        }
    }

    func seccomp(_ value: JSONValue, into profile: inout SeccompProfile) throws {
        let fields = try object(value, "seccomp", allowed: ["defaultAction", "defaultErrnoRet", "architectures", "syscalls", "quiet"])
        if let action = fields["defaultAction"] {
            profile.defaultAction = try self.action(action, errnoRet: fields["defaultErrnoRet"], "seccomp.defaultAction", errnoPath: "seccomp.defaultErrnoRet")
        } else if fields["defaultErrnoRet"] != nil {
            throw error("seccomp.defaultErrnoRet", "given without seccomp.defaultAction \"SCMP_ACT_ERRNO\"")
        }
        if let architectures = fields["architectures"] {
            let names = try strings(architectures, "seccomp.architectures")
            profile.architectures = try names.enumerated().map { i, name in
                guard let arch = Architecture(rawValue: name) else {
                    throw error("seccomp.architectures[\(i)]", "unknown architecture '\(name)' (accepted: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return arch
            }
            guard !profile.architectures.isEmpty else { throw error("seccomp.architectures", "must name at least one architecture") }
        }
        if let syscalls = fields["syscalls"] {
            guard case .array(let rules) = syscalls else {
                throw error("seccomp.syscalls", "expected an array of rules, found \(syscalls.typeName)")
            }
            for (i, rule) in rules.enumerated() {
                profile.syscalls.append(try self.rule(rule, "seccomp.syscalls[\(i)]"))
            }
        }
        if let quiet = fields["quiet"] {
            guard case .array(let entries) = quiet else {
                throw error("seccomp.quiet", "expected an array of {names, args} entries, found \(quiet.typeName)")
            }
            for (i, entry) in entries.enumerated() {
                let path = "seccomp.quiet[\(i)]"
                _ = try object(entry, path, allowed: ["names", "args", "comment"])
                guard case .object(var fields) = entry else { continue }
                // read as a rule (the same names, groups and comparisons), without an action
                fields["action"] = .string("SCMP_ACT_ALLOW")
                let parsed = try rule(.object(fields), path)
                for (j, arg) in parsed.args.enumerated() where arg.index > 2 {
                    throw error("\(path).args[\(j)].index", "argument \(arg.index) is not reported with a refusal (accepted: 0...2)")
                }
                let names = parsed.names.flatMap { $0.hasPrefix("@") ? (SyscallGroups.all[$0]?.syscalls ?? []) : [$0] }
                profile.quiet.append(QuietCall(names: names, args: parsed.args, origin: parsed.origin))
            }
        }
    }

    func action(_ value: JSONValue, errnoRet: JSONValue?, _ path: String, errnoPath: String) throws -> SeccompAction {
        let name = try string(value, path)
        let accepted = "SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL, SCMP_ACT_TRAP, SCMP_ACT_LOG"
        let action: SeccompAction
        switch name {
        case "SCMP_ACT_ALLOW": action = .allow
        case "SCMP_ACT_ERRNO":
            var code: UInt64 = 1
            if let errnoRet { code = try unsigned(errnoRet, errnoPath) }
            guard code <= 4095 else { throw error(errnoPath, "errno \(code) is out of range (accepted: 0...4095)") }
            return .errno(UInt16(code))
        case "SCMP_ACT_KILL_PROCESS": action = .killProcess
        case "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL": action = .killThread
        case "SCMP_ACT_TRAP": action = .trap
        case "SCMP_ACT_LOG": action = .log
        case "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY":
            throw error(path, "\(name) needs a tracer or supervisor, which Confine does not run (accepted: \(accepted))")
        default:
            throw error(path, "unknown action '\(name)' (accepted: \(accepted))")
        }
        if errnoRet != nil { throw error(errnoPath, "only meaningful with SCMP_ACT_ERRNO") }
        return action
    }

    func rule(_ value: JSONValue, _ path: String) throws -> SyscallRule {
        let fields = try object(value, path, allowed: ["names", "action", "errnoRet", "args", "comment"])
        guard let namesValue = fields["names"] else { throw error(path, "a rule needs 'names'") }
        guard let actionValue = fields["action"] else { throw error(path, "a rule needs 'action'") }
        let names = try strings(namesValue, "\(path).names")
        guard !names.isEmpty else { throw error("\(path).names", "must name at least one syscall or @group") }
        for (i, name) in names.enumerated() {
            if name.hasPrefix("@") {
                guard SyscallGroups.all[name] != nil else {
                    throw error("\(path).names[\(i)]", "unknown group '\(name)' (accepted: \(SyscallGroups.names.joined(separator: ", ")))")
                }
            } else if CSeccomp_resolve(name) < 0 {
                let hint = Syscalls.closest(to: name).map { " (did you mean '\($0)'?)" } ?? ""
                throw error("\(path).names[\(i)]", "unknown syscall '\(name)' on this architecture\(hint)")
            }
        }
        let action = try self.action(actionValue, errnoRet: fields["errnoRet"], "\(path).action", errnoPath: "\(path).errnoRet")
        var args: [ArgumentComparison] = []
        if let argsValue = fields["args"] {
            guard case .array(let items) = argsValue else { throw error("\(path).args", "expected an array, found \(argsValue.typeName)") }
            for (i, item) in items.enumerated() {
                let argPath = "\(path).args[\(i)]"
                let arg = try object(item, argPath, allowed: ["index", "value", "valueTwo", "op"])
                guard let index = arg["index"], let op = arg["op"] else { throw error(argPath, "an argument comparison needs 'index' and 'op'") }
                let n = try unsigned(index, "\(argPath).index")
                guard n <= 5 else { throw error("\(argPath).index", "argument index \(n) is out of range (accepted: 0...5)") }
                let opName = try string(op, "\(argPath).op")
                guard let parsedOp = ArgumentComparison.Operator(rawValue: opName) else {
                    throw error("\(argPath).op", "unknown operator '\(opName)' (accepted: \(ArgumentComparison.Operator.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                let v = try arg["value"].map { try unsigned($0, "\(argPath).value") } ?? 0
                let v2 = try arg["valueTwo"].map { try unsigned($0, "\(argPath).valueTwo") } ?? 0
                args.append(ArgumentComparison(index: Int(n), value: v, valueTwo: v2, op: parsedOp))
            }
        }
        return SyscallRule(names: names, action: action, args: args, origin: "\(file):\(map.line(of: path) ?? 0)")
    }

    func rlimits(_ value: JSONValue, into limits: inout ResourceLimits) throws {
        let fields = try object(value, "rlimits", allowed: ResourceLimits.names)
        for (name, raw) in fields {
            let path = "rlimits.\(name)"
            if case .string("unlimited") = raw { limits[name] = .unlimited; continue }
            switch name {
            case "cpu":
                let d = try duration(raw, path, allowZero: true)
                limits[name] = .limited(UInt64(max(0, d.seconds.rounded(.up))))
            case "nofile", "nproc":
                guard case .unsigned(let n) = raw else {
                    throw error(path, "expected a count or \"unlimited\", found \(describe(raw))")
                }
                limits[name] = .limited(n)
            default:
                limits[name] = .limited(try size(raw, path))
            }
        }
    }

    func environment(_ value: JSONValue) throws -> [String: String] {
        guard case .object(let fields) = value else { throw error("environment", "expected an object, found \(value.typeName)") }
        var environment: [String: String] = [:]
        for (key, raw) in fields {
            let path = "environment.\(key)"
            guard !key.isEmpty, !key.contains("="), !key.utf8.contains(0) else {
                throw error(path, "'\(key)' is not a valid variable name (no '=' or NUL, not empty)")
            }
            environment[key] = try string(raw, path)
        }
        return environment
    }

    func user(_ value: JSONValue) throws -> UserSpec {
        switch value {
        case .string("auto"): return .automatic
        case .string("inherit"): return .inherit
        case .string(let name):
            guard let entry = getpwnam(name) else {
                throw error("user", "no user named '\(name)' (accepted: \"auto\", \"inherit\", a user name, or {\"uid\": N, \"gid\": N})")
            }
            return .ids(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
        case .object:
            let fields = try object(value, "user", allowed: ["uid", "gid"])
            guard let uid = fields["uid"], let gid = fields["gid"] else { throw error("user", "needs both 'uid' and 'gid'") }
            let u = try unsigned(uid, "user.uid"), g = try unsigned(gid, "user.gid")
            guard u < UInt32.max, g < UInt32.max else { throw error("user", "uid and gid must be below 4294967295") }
            return .ids(uid: UInt32(u), gid: UInt32(g))
        default:
            throw error("user", "expected a user name or {\"uid\": N, \"gid\": N}, found \(value.typeName)")
        }
    }
}
