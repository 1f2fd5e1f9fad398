#if canImport(Glibc)
import Glibc
#endif

/// The check OpenSSH's StrictModes makes of a private key, for Confine's files that hold
/// secrets (a service's access key secrets, a function's static credentials): owned by the user
/// that reads it (or root), and neither readable nor writable by group or others.
package enum PrivateFile {
    /// - Parameters:
    ///   - path: the file.
    ///   - holding: what secrets it holds, for the message ("access key secrets (keys.NAME.secret)").
    /// - Throws: `PolicyError` naming the file, its mode and owner, and the `chmod`/`chown` that fixes it.
    package static func check(_ path: String, holding: String, orElse alternative: String = "use secretEnv") throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }  // the reader reports a missing file itself
        let mode = info.st_mode & 0o777
        let owner = geteuid()
        if info.st_uid != owner && info.st_uid != 0 {
            throw PolicyError(file: path, path: "", message:
                "the file holds \(holding) but belongs to uid \(info.st_uid), not to uid \(owner) that reads it or root: whoever owns it can change it; fix with `chown \(owner) \(shellQuoted(path))`")
        }
        if mode & 0o077 != 0 {
            throw PolicyError(file: path, path: "", message:
                "the file holds \(holding) and other users can \(mode & 0o044 != 0 ? "read" : "write") it (mode \(String(mode, radix: 8))); keep it private with `chmod 600 \(shellQuoted(path))` or \(alternative)")
        }
    }

    static func shellQuoted(_ path: String) -> String {
        path.allSatisfy { $0.isLetter || $0.isNumber || "/._-+,:@".contains($0) } ? path : "'" + path.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
