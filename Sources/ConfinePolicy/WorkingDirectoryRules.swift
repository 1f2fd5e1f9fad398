#if canImport(Glibc)
import Glibc
#endif

/// The rules that say which working directories a policy admits (`isolation.filesystem.
/// workingDirectories`), read like a `.gitignore`: each rule is an absolute path pattern that
/// matches a directory and everything beneath it; a rule starting with `!` refuses what it
/// matches; the last rule that matches decides, and a directory no rule matches is refused.
/// A component of a pattern is an `fnmatch(3)` glob (`*`, `?`, `[...]`) that never matches a
/// leading dot unless the pattern spells it, as in the shell: `/home/*/*` admits
/// `/home/alice/project` but neither `/home/alice` nor `/home/alice/.ssh`.
///
/// Rules are applied to the directory after symlinks and `..` are resolved (`realpath(3)`).
public enum WorkingDirectoryRules {
    /// The rules of a filesystem view that names none: any folder inside a top-level folder
    /// (`/srv/app`, `/mnt/data`), never a top-level folder itself (`/srv`, `/mnt`), nor one of the
    /// system's trees (`/proc`, `/sys`, `/dev`, `/etc`, `/usr`, `/opt`, `/var` but `/var/tmp/*`,
    /// ...); inside a home, `/root` or `/tmp`, but never a home, `/root` or `/tmp` itself, nor a
    /// dot-folder such as `~/.ssh`; never one of Confine's own private folders.
    public static let standard: [String] = [
        "/*/*",
        "!/proc", "!/sys", "!/dev", "!/etc", "!/boot", "!/run", "!/usr", "!/bin", "!/sbin",
        "!/lib", "!/lib32", "!/lib64", "!/libx32", "!/var", "!/snap", "!/lost+found", "!/opt", "!/nix",
        "/var/tmp/*",
        "!/home", "/home/*/*",
        "!/root", "/root/*",
        "!/tmp", "/tmp/*",
        "!/tmp/confine-*",
    ]

    /// `path` is `directory` or lies beneath it, as strings (a trailing `/` on `directory` is
    /// ignored; `/` holds everything). Give canonical paths where symlinks matter.
    public static func isWithin(_ path: String, _ directory: String) -> Bool {
        let directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return directory == "/" || path == directory || path.hasPrefix(directory + "/")
    }

    /// A rule's problem, or nil when it is well formed.
    public static func problem(_ rule: String) -> String? {
        let path = rule.hasPrefix("!") ? String(rule.dropFirst()) : rule
        guard path.hasPrefix("/") else { return "'\(rule)' is not an absolute path (optionally after '!')" }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        if components.contains(where: { $0 == ".." || $0 == "." }) { return "'\(rule)' contains '.' or '..'" }
        if components.contains(where: { $0.contains("**") }) { return "'\(rule)' uses '**': a rule already covers everything beneath what it matches" }
        return nil
    }

    /// Whether `rules` admit `directory` (an absolute path without symlinks, `.` or `..`), and the
    /// rule that decided (nil when none matched).
    public static func decide(_ directory: String, rules: [String]) -> (admitted: Bool, rule: String?) {
        let components = directory.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for rule in rules.reversed() {
            let refuse = rule.hasPrefix("!")
            let pattern = (refuse ? String(rule.dropFirst()) : rule).split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            if matches(pattern, components) { return (!refuse, rule) }
        }
        return (false, nil)
    }

    /// The pattern matches the path's leading components.
    static func matches(_ pattern: [String], _ components: [String]) -> Bool {
        guard components.count >= pattern.count else { return false }
        for (glob, name) in zip(pattern, components) where fnmatch(glob, name, FNM_PERIOD) != 0 {
            return false
        }
        return true
    }

    /// Whether every directory `narrower` admits, `wider` admits too: true when they are equal,
    /// or `narrower` is `wider` with only refusing rules appended. Anything else counts as a
    /// possible widening (deciding inclusion of two rule lists in general is not attempted).
    public static func isNoWider(_ narrower: [String], than wider: [String]) -> Bool {
        guard narrower.count >= wider.count, Array(narrower.prefix(wider.count)) == wider else { return false }
        return narrower.dropFirst(wider.count).allSatisfy { $0.hasPrefix("!") }
    }
}
