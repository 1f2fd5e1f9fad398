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

    /// Edits between two names, a swap of two neighbouring letters counting as one (optimal
    /// string alignment): "scoket" is one from "socket", as "sockett" is.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
