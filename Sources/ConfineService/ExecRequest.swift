import ConfinePolicy
import Foundation

/// The body of `POST /v1/exec`: `{argv, stdin (base64), policy, timeout, env, cwd}`, checked
/// field by field; every error names the field and what is accepted.
struct ExecRequest: Sendable {
    var argv: [String]
    /// The arguments as bytes, when one was given in hex (`argv` is then their readable form).
    var argvBytes: [[UInt8]]?
    var stdin: [UInt8] = []
    var policy: String?
    var timeout: Duration?
    var environment: [String: String] = [:]
    /// Values given in hex (`{"hex": ...}`, bytes that are not UTF-8), by name; their readable
    /// form is in `environment`.
    var environmentBytes: [String: [UInt8]] = [:]
    var workingDirectory: String?

    static let fields = ["argv", "stdin", "policy", "timeout", "env", "cwd"]

    /// The bytes of pairs of hex digits (either case), nil for anything else.
    static func hex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        return bytes
    }

    static func invalid(_ message: String) -> ServiceError { ServiceError(.badRequest, "InvalidArgument", message) }

    /// - Throws: `ServiceError` 400 naming the field.
    static func parse(_ body: [UInt8], maxTimeout: Duration) throws -> ExecRequest {
        let value: JSONValue
        do { value = try JSONValue.decode(body) } catch {
            throw ServiceError(.badRequest, "InvalidJSON", "the body is not valid JSON: \(Self.describe(error)) (expected an object with \(fields.joined(separator: ", ")))")
        }
        guard case .object(let object) = value else {
            throw invalid("the body must be a JSON object with \(fields.joined(separator: ", ")), found \(value.typeName)")
        }
        for key in object.keys.sorted() where !fields.contains(key) {
            throw invalid("unknown field '\(ConfineService.printable(key))' (accepted: \(fields.joined(separator: ", ")))")
        }
        guard case .array(let items)? = object["argv"] else {
            throw invalid(object["argv"] == nil ? "argv is required: an array of strings (or {\"hex\": ...} entries), the command first" : "argv must be an array of strings (or {\"hex\": ...} entries)")
        }
        guard !items.isEmpty else { throw invalid("argv is empty: give the command and its arguments") }
        guard items.count <= 4096 else { throw invalid("argv has \(items.count) entries (at most 4096)") }
        // Each entry a string, or {"hex": "66f09080"} for bytes that are not UTF-8 (a file name
        // with bytes such as f0 90 80), passed to the command unchanged. Hex, not base64: its
        // schema can say exactly which values are valid (no 00 byte, which no program receives).
        var argv: [[UInt8]] = []
        var anyBytes = false
        for (i, item) in items.enumerated() {
            let bytes: [UInt8]
            switch item {
            case .string(let s): bytes = Array(s.utf8)
            case .object(let fields):
                guard fields.count == 1, case .string(let text)? = fields["hex"], let decoded = Self.hex(text) else {
                    throw invalid("argv[\(i)] must be a string or {\"hex\": \"...\"} (the argument's bytes as pairs of hex digits, for bytes that are not UTF-8)")
                }
                bytes = decoded
                anyBytes = true
            default: throw invalid("argv[\(i)] must be a string or {\"hex\": \"...\"}, found \(item.typeName)")
            }
            guard !bytes.contains(0) else { throw invalid("argv[\(i)] contains a NUL byte") }
            if i == 0 && bytes.isEmpty { throw invalid("argv[0] is empty: it must name the command") }
            argv.append(bytes)
        }
        var request = ExecRequest(argv: argv.map { String(decoding: $0, as: UTF8.self) })
        if anyBytes { request.argvBytes = argv }

        if let raw = object["stdin"], raw != .null {
            guard case .string(let text) = raw, let data = Data(base64Encoded: text) else {
                throw invalid("stdin must be a base64 string")
            }
            request.stdin = [UInt8](data)
        }
        if let raw = object["policy"], raw != .null {
            guard case .string(let name) = raw else { throw invalid("policy must be a policy name (a string)") }
            request.policy = name
        }
        if let raw = object["timeout"], raw != .null {
            let seconds: Double
            switch raw {
            case .unsigned(let u): seconds = Double(u)
            case .signed(let i): seconds = Double(i)
            case .double(let d): seconds = d
            default: throw invalid("timeout must be a number of seconds, found \(raw.typeName)")
            }
            let limit = maxTimeout.seconds
            guard seconds.isFinite, seconds > 0, seconds <= limit else {
                throw invalid("timeout \(seconds) is out of range (accepted: more than 0 and at most \(limit) seconds)")
            }
            request.timeout = Quantity.seconds(seconds)
        }
        if let raw = object["env"], raw != .null {
            guard case .object(let env) = raw else { throw invalid("env must be an object of strings, found \(raw.typeName)") }
            for (name, value) in env {
                guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: "=")), !name.utf8.contains(0) else {
                    throw invalid("env name '\(ConfineService.printable(name))' is not a variable name (non-empty, no '=' or NUL)")
                }
                switch value {
                case .string(let s) where !s.utf8.contains(0):
                    request.environment[name] = s
                // {"hex": "..."} for a value that is not UTF-8, as in argv
                case .object(let fields):
                    guard fields.count == 1, case .string(let text)? = fields["hex"], let decoded = Self.hex(text), !decoded.contains(0) else {
                        throw invalid("env.\(ConfineService.printable(name)) must be a string or {\"hex\": \"...\"} (the value's bytes as pairs of hex digits, none 00, for bytes that are not UTF-8)")
                    }
                    request.environment[name] = String(decoding: decoded, as: UTF8.self)
                    request.environmentBytes[name] = decoded
                default:
                    throw invalid("env.\(ConfineService.printable(name)) must be a string without NUL bytes, or {\"hex\": \"...\"}")
                }
            }
        }
        if let raw = object["cwd"], raw != .null {
            guard case .string(let dir) = raw, dir.utf8.first == UInt8(ascii: "/"), !dir.utf8.contains(0) else {
                throw invalid("cwd must be an absolute path")
            }
            request.workingDirectory = dir
        }
        return request
    }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
        }
        return "\(error)"
    }
}
