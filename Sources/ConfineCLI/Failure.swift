import Confine
import ConfineCommandLine
import ConfinePolicy
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Loads a policy, or ends with status 2 and the file:line: field: message of the problem.
func loadPolicy(_ name: String, keepingParsed: Bool = false) -> Policy {
    do {
        var reader = PolicyReader()
        // `confine run`: the files kept parsed in the compiled-filter cache folder (the
        // executor warns when that folder is refused; an entry refused is said here)
        let store = keepingParsed ? CompiledFilterStore.standard() : nil
        reader.documents = store
        let policy = try reader.load(name)
        if let refusal = store?.refusal { warn("not using the policy kept parsed: \(refusal); parsing the file instead") }
        for warning in policy.warnings { warn(warning) }
        return policy
    } catch {
        fail("\(error)", status: 2)
    }
}


/// A `--timeout` value: nil when none was given; otherwise a positive duration, or a usage
/// error (status 2) that names the value and what is accepted.
func timeoutOption(_ text: String?) -> Duration? {
    guard let text else { return nil }
    if text.trimmingSpaces.hasPrefix("-") { fail("--timeout '\(text)' is negative (accepted: \(Quantity.acceptedDurations))", status: 2) }
    guard let parsed = Quantity.parseDuration(text) else {
        fail("--timeout '\(text)' is not a duration (accepted: \(Quantity.acceptedDurations))", status: 2)
    }
    guard parsed > .zero else { fail("--timeout '\(text)' must be more than 0 (accepted: \(Quantity.acceptedDurations))", status: 2) }
    return parsed
}

/// The command after `--` as the bytes this process was given, when one of its arguments is
/// not UTF-8 (a file name with bytes such as f0 90 80): swift-argument-parser hands over
/// `String`s, which hold U+FFFD in place of such bytes. The command is the tail of argv; each
/// raw argument is matched against its parsed form. Nil when every argument is UTF-8 (or the
/// tail does not match, which cannot happen for a captured passthrough).
func commandBytes(_ command: [String]) -> [[UInt8]]? {
    let count = Int(CommandLine.argc)
    guard command.count <= count else { return nil }
    var raw: [[UInt8]] = []
    for i in (count - command.count)..<count {
        guard let pointer = CommandLine.unsafeArgv[i] else { return nil }
        raw.append(Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))))
    }
    guard zip(raw, command).allSatisfy({ String(decoding: $0, as: UTF8.self) == $1 }) else { return nil }
    return raw.contains { String(validating: $0, as: UTF8.self) == nil } ? raw : nil
}

/// The values of `--env` as the bytes this process was given, when one of them is not UTF-8:
/// each raw `--env VALUE` or `--env=VALUE` before `--`, matched against its parsed form. Nil
/// when every value is UTF-8 (or the raw values do not match the parsed ones).
func environmentBytes(_ parsed: [String]) -> [[UInt8]]? {
    var raw: [[UInt8]] = []
    var i = 1
    let count = Int(CommandLine.argc)
    func bytes(_ index: Int) -> [UInt8]? {
        guard let pointer = CommandLine.unsafeArgv[index] else { return nil }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
    }
    let option = Array("--env".utf8), attached = Array("--env=".utf8)
    while i < count, let argument = bytes(i), argument != Array("--".utf8) {
        if argument == option, i + 1 < count, let value = bytes(i + 1) {
            raw.append(value)
            i += 2
            continue
        }
        if argument.starts(with: attached) { raw.append(Array(argument.dropFirst(attached.count))) }
        i += 1
    }
    guard raw.count == parsed.count, zip(raw, parsed).allSatisfy({ String(decoding: $0, as: UTF8.self) == $1 }) else { return nil }
    return raw.contains { String(validating: $0, as: UTF8.self) == nil } ? raw : nil
}
