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

    /// x86_64 calls newer than the libseccomp Debian 12 ships (2.5.4), with their numbers
    /// (the kernel's arch/x86/entry/syscalls/syscall_64.tbl), kept where this libseccomp cannot
    /// name them: a profile's rule for one cannot be kept, which an import must say.
    public static let newerThanLibseccomp: [String: Int32] = {
        #if arch(x86_64)
        let table: [String: Int32] = [
            "uretprobe": 335, "memfd_secret": 447, "process_mrelease": 448, "futex_waitv": 449, "set_mempolicy_home_node": 450,
            "cachestat": 451, "fchmodat2": 452, "map_shadow_stack": 453, "futex_wake": 454, "futex_wait": 455,
            "futex_requeue": 456, "statmount": 457, "listmount": 458, "lsm_get_self_attr": 459, "lsm_set_self_attr": 460,
            "lsm_list_modules": 461, "mseal": 462, "setxattrat": 463, "getxattrat": 464, "listxattrat": 465,
            "removexattrat": 466, "open_tree_attr": 467, "file_getattr": 468, "file_setattr": 469,
        ]
        return table.filter { number(of: $0.key) == nil }
        #else
        return [:]
        #endif
    }()

    /// The known name closest to a misspelt one, when it is close enough to suggest.
    public static func closest(to name: String) -> String? {
        Suggestion.closest(to: name, among: names.values)
    }
}

/// "Did you mean": the candidate nearest a misspelt name.
public enum Suggestion {
    /// The candidate closest to `name` when it is close enough to suggest (a quarter of its
    /// letters, at least one edit), the first in order among equals.
    public static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        let scored = candidates.map { ($0, editDistance($0, name)) }
        guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
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
    }}
