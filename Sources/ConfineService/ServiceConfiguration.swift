import ConfinePolicy
import ConfineRuntime
import Foundation

/// What `confine serve` serves, and to whom: read from a JSON file, checked field by field,
/// every error naming the file, the line and the field.
///
/// ```json
/// { "version": 1,
///   "functions": "functions.json",
///   "auditLog": "confine-audit.sqlite",
///   "keys": { "LTAI5tExampleKeyId": { "secret": "...", "functions": ["*"], "policies": ["default"],
///                                     "rateLimit": 100, "burst": 200 } },
///   "limits": { "concurrency": 8, "queue": 256, "bodySize": "6MiB", "clockSkew": "15m",
///               "grace": "10s", "maxTimeout": "5m", "asyncLease": "30s" } }
/// ```
public struct ServiceConfiguration: Sendable {
    /// An access key: its secret, and what it may use.
    public struct Key: Sendable {
        public var id: String
        public var secret: String
        /// Function names this key may invoke; `*` for all.
        public var functions: Set<String>
        /// Policies this key may run commands under, the first being its default. A request may
        /// also name any policy that is nowhere laxer than one of these (`PolicyDiff`).
        public var policies: [String]
        /// Sustained requests per second (token bucket), and the bucket's size in requests.
        public var rateLimit: Double?
        public var burst: Int

        public init(id: String, secret: String, functions: Set<String>, policies: [String], rateLimit: Double? = nil, burst: Int = 1) {
            self.id = id
            self.secret = secret
            self.functions = functions
            self.policies = policies
            self.rateLimit = rateLimit
            self.burst = max(1, burst)
        }

        public func mayInvoke(_ function: String) -> Bool { functions.contains("*") || functions.contains(function) }
    }

    /// Where the audit log lives.
    public enum Store: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)

        static let postgresForm = "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]"

        /// What is wrong with a PostgreSQL URL, or nil: each part it lacks named.
        public static func problem(postgresURL url: String) -> String? {
            let shown = redacted(url)
            guard let parts = URLComponents(string: url) else { return "'\(shown)' is not a URL (accepted: \(postgresForm))" }
            guard parts.host?.isEmpty == false else { return "'\(shown)' names no host (accepted: \(postgresForm))" }
            guard parts.user?.isEmpty == false else { return "'\(shown)' names no user (accepted: \(postgresForm))" }
            guard parts.path.count > 1 else { return "'\(shown)' names no database (accepted: \(postgresForm))" }
            for item in parts.queryItems ?? [] {
                guard item.name == "sslmode" else { return "'\(shown)': unknown parameter '\(item.name)' (accepted: sslmode)" }
                guard ["disable", "prefer", "require"].contains(item.value ?? "") else {
                    return "'\(shown)': sslmode '\(item.value ?? "")' is not supported (accepted: disable, prefer, require)"
                }
            }
            return nil
        }

        /// A database URL fit to print: the scheme, host, port and path, never a user or password.
        public static func redacted(_ url: String) -> String {
            let scheme = String(url.prefix { $0 != ":" })
            // one URLComponents cannot read, or one holding another URL, is shown by its scheme only
            guard !url.dropFirst(scheme.count + 3).contains("://"), var parts = URLComponents(string: url), parts.host != nil else {
                return scheme + "://…"
            }
            parts.user = nil
            parts.password = nil
            parts.query = nil
            return parts.string ?? "postgres://…"
        }
    }

    public var file: String

    /// The files no confined command may see: this file, the functions file, the SQLite audit
    /// store with its WAL and shared-memory files.
    public var protectedFiles: [String] {
        var files = [file]
        if let functions { files.append(functions.file) }
        if case .sqlite(let path) = store { files += [path, path + "-wal", path + "-shm"] }
        return files.filter { $0 != "<memory>" }
    }
    public var functions: FunctionConfiguration?
    public var keys: [String: Key]
    public var store: Store
    /// Directories searched for the policies a request names (besides the shipped ones).
    public var policyPaths: [String]
    /// Commands and invocations running at once; requests beyond wait in a queue of `queueLimit`.
    public var concurrency: Int
    /// Requests that may wait for a slot; beyond, 503 `ServerBusy`.
    public var queueLimit: Int
    /// The largest request body accepted, in bytes; beyond, 413.
    public var bodyLimit: Int
    /// How far `x-acs-date` may be from the server's clock (and how long a nonce is remembered).
    public var clockSkew: Duration
    /// How long in-flight work may go on after SIGTERM/SIGINT before it is killed.
    public var grace: Duration
    /// The longest timeout a request may ask for.
    public var maxTimeout: Duration
    /// How long an asynchronous invocation a node claimed in a shared store stays its own
    /// without renewal (renewed every third of it): after a node dies, its tasks run elsewhere
    /// this long after its last renewal.
    public var asyncLease: Duration = .seconds(30)

    public init(file: String = "<memory>", functions: FunctionConfiguration? = nil, keys: [Key], store: Store,
                policyPaths: [String] = [], concurrency: Int = 8, queueLimit: Int = 256, bodyLimit: Int = 6 << 20,
                clockSkew: Duration = .seconds(900), grace: Duration = .seconds(10), maxTimeout: Duration = .seconds(300)) {
        self.file = file
        self.functions = functions
        self.keys = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        self.store = store
        self.policyPaths = policyPaths
        self.concurrency = concurrency
        self.queueLimit = queueLimit
        self.bodyLimit = bodyLimit
        self.clockSkew = clockSkew
        self.grace = grace
        self.maxTimeout = maxTimeout
    }

    /// Reads and checks a service file; the functions file it names is read too.
    /// - Throws: `PolicyError` (file, line, field, message).
    public static func load(_ path: String) throws -> ServiceConfiguration {
        let (root, walker) = try Walker.open(path)
        let directory = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
        func relative(_ p: String) -> String { p.hasPrefix("/") ? p : directory.appendingPathComponent(p).standardizedFileURL.path }

        let fields = try walker.object(root, "", allowed: ["version", "functions", "auditLog", "keys", "limits", "policyPaths", "comment"])
        if let version = fields["version"], version != .unsigned(1) { throw walker.error("version", "unsupported version (accepted: 1)") }

        var functions: FunctionConfiguration?
        if let raw = fields["functions"] {
            let file = relative(try walker.string(raw, "functions"))
            functions = try FunctionConfiguration.load(file)
        }

        var store = Store.sqlite(path: relative("confine-audit.sqlite"))
        if let raw = fields["auditLog"] {
            let location = try walker.string(raw, "auditLog")
            if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
                if let problem = Store.problem(postgresURL: location) { throw walker.error("auditLog", problem) }
                store = .postgres(url: location)
            } else if location.contains("://") {
                // not a file name: a URL of a store Confine does not have (never made into a folder)
                throw walker.error("auditLog", "'\(Store.redacted(location))' names a store Confine does not have (accepted: a SQLite file path, or \(Store.postgresForm))")
            } else if location.isEmpty {
                throw walker.error("auditLog", "expected a SQLite file path or a postgres:// URL")
            } else {
                store = .sqlite(path: relative(location))
            }
        }

        var policyPaths: [String] = []
        if let raw = fields["policyPaths"] {
            policyPaths = try walker.strings(raw, "policyPaths").map(relative)
            for (i, p) in policyPaths.enumerated() {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: p, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw walker.error("policyPaths[\(i)]", "'\(p)' is not a directory")
                }
            }
        }

        guard case .object(let rawKeys)? = fields["keys"], !rawKeys.isEmpty else {
            throw walker.error("keys", "expected an object of access keys by id, with at least one (every request is signed)")
        }
        var keys: [Key] = []
        for (id, raw) in rawKeys.sorted(by: { $0.key < $1.key }) {
            let base = "keys.\(id)"
            guard !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
                throw walker.error(base, "access key id '\(id)' may hold ASCII letters, digits, '-', '_' and '.' only")
            }
            let k = try walker.object(raw, base, allowed: ["secret", "secretEnv", "functions", "policies", "rateLimit", "burst", "comment"])
            let secret: String
            switch (k["secret"], k["secretEnv"]) {
            case (let s?, nil): secret = try walker.string(s, "\(base).secret")
            case (nil, let e?):
                let name = try walker.string(e, "\(base).secretEnv")
                guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                    throw walker.error("\(base).secretEnv", "the environment variable '\(name)' is not set")
                }
                secret = value
            case (nil, nil): throw walker.error(base, "needs 'secret' or 'secretEnv'")
            default: throw walker.error("\(base).secretEnv", "give 'secret' or 'secretEnv', not both")
            }
            guard secret.utf8.count >= 16 else { throw walker.error("\(base).secret", "is shorter than 16 bytes") }
            let allowed = try k["functions"].map { try walker.strings($0, "\(base).functions") } ?? []
            for (i, name) in allowed.enumerated() where name != "*" && functions?.functions[name] == nil {
                throw walker.error("\(base).functions[\(i)]", "unknown function '\(name)' (configured: \((functions?.functions.keys.sorted() ?? []).joined(separator: ", ")), or *)")
            }
            let policies = try k["policies"].map { try walker.strings($0, "\(base).policies") } ?? []
            for (i, name) in policies.enumerated() where !PolicyCatalog.isPlainName(name) {
                throw walker.error("\(base).policies[\(i)]", "'\(name)' is not a policy name (letters, digits, '-', '_')")
            }
            // a grant of a policy no search path holds would start the server and fail every request
            let available = PolicyCatalog.availableNames(searchPaths: policyPaths + PolicyReader.defaultSearchPaths().filter { !policyPaths.contains($0) })
            for (i, name) in policies.enumerated() where !available.contains(name) {
                let near = Suggestion.closest(to: name, among: available)
                throw walker.error("\(base).policies[\(i)]", "unknown policy '\(name)'\(near.map { " (did you mean '\($0)'?)" } ?? "") (available: \(available.joined(separator: ", ")))")
            }
            var rate: Double?
            if let raw = k["rateLimit"] {
                switch raw {
                case .unsigned(let u) where u > 0: rate = Double(u)
                case .double(let d) where d > 0 && d.isFinite: rate = d
                default: throw walker.error("\(base).rateLimit", "expected requests per second, a number greater than 0")
                }
            }
            let burst = try k["burst"].map { try walker.unsigned($0, "\(base).burst") } ?? UInt64(max(1, (rate ?? 1).rounded(.up) * 2))
            guard burst >= 1 && burst <= 1_000_000 else { throw walker.error("\(base).burst", "must be between 1 and 1000000") }
            keys.append(Key(id: id, secret: secret, functions: Set(allowed), policies: policies, rateLimit: rate, burst: Int(burst)))
        }

        // Secrets in a file others can read are secrets no more (OpenSSH's StrictModes).
        if case .postgres(let url) = store, URLComponents(string: url)?.password?.isEmpty == false {
            try PrivateFile.check(path, holding: "the database password (auditLog)",
                                  orElse: "leave the password out of the URL and set PGPASSWORD in the server's environment")
        }
        if let first = rawKeys.keys.sorted().first(where: { if case .object(let k)? = rawKeys[$0] { k["secret"] != nil } else { false } }) {
            try PrivateFile.check(path, holding: "access key secrets (keys.\(first).secret)")
        }
        if let functions, case .fixed = functions.credentials {
            try PrivateFile.check(functions.file, holding: "static credentials (credentials.accessKeySecret)")
        }
        var configuration = ServiceConfiguration(file: path, functions: functions, keys: keys, store: store, policyPaths: policyPaths)
        if let raw = fields["limits"] {
            let l = try walker.object(raw, "limits", allowed: ["concurrency", "queue", "bodySize", "clockSkew", "grace", "maxTimeout", "asyncLease"])
            if let v = l["concurrency"] {
                let n = try walker.unsigned(v, "limits.concurrency")
                guard (1...1024).contains(n) else { throw walker.error("limits.concurrency", "must be between 1 and 1024") }
                configuration.concurrency = Int(n)
            }
            if let v = l["queue"] {
                let n = try walker.unsigned(v, "limits.queue")
                guard n <= 1_000_000 else { throw walker.error("limits.queue", "must be at most 1000000") }
                configuration.queueLimit = Int(n)
            }
            if let v = l["bodySize"] {
                let n = try walker.size(v, "limits.bodySize")
                guard (1...(1 << 30)).contains(n) else { throw walker.error("limits.bodySize", "must be between 1 byte and 1GiB") }
                configuration.bodyLimit = Int(n)
            }
            if let v = l["clockSkew"] { configuration.clockSkew = try walker.duration(v, "limits.clockSkew", allowZero: false) }
            if let v = l["grace"] { configuration.grace = try walker.duration(v, "limits.grace", allowZero: true) }
            if let v = l["maxTimeout"] { configuration.maxTimeout = try walker.duration(v, "limits.maxTimeout", allowZero: false) }
            if let v = l["asyncLease"] {
                let lease = try walker.duration(v, "limits.asyncLease", allowZero: false)
                guard lease >= .seconds(3) else { throw walker.error("limits.asyncLease", "must be at least 3s (it is renewed every third of it)") }
                configuration.asyncLease = lease
            }
        }
        return configuration
    }
}
