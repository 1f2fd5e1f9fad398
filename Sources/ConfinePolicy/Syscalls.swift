import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// Syscall names and numbers of the native architecture, as libseccomp knows them.
public enum Syscalls {
    /// Every syscall name libseccomp knows on this architecture, by number.
    public static let names: [Int32: String] = {
        var table: [Int32: String] = [:]
        for nr in Int32(0)..<1024 {
            guard let raw = CSeccomp_name(nr) else { continue }
            table[nr] = String(cString: raw)
            free(raw)
        }
        return table
    }()

    /// The number of `name`, or `nil` when this architecture has no such syscall.
    public static func number(of name: String) -> Int32? {
        let nr = CSeccomp_resolve(name)
        return nr >= 0 ? nr : nil
    }

    /// The name of syscall `nr` ("socket"), or "syscall_<nr>" when unknown.
    public static func name(of nr: Int32) -> String {
        names[nr] ?? "syscall_\(nr)"
    }

    /// The known name closest to a misspelt one, when it is close enough to suggest.
    public static func closest(to name: String) -> String? {
        let candidates = names.values.map { ($0, editDistance($0, name)) }
        guard let best = candidates.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
        return best.1 <= max(1, name.count / 4) ? best.0 : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
