import Confine
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// How every `-o FILE` of the CLI writes: a new or regular file is replaced atomically (a
/// temporary file beside it, then rename(2), keeping the old file's mode and owner); a
/// character or block device or a FIFO is written in place (`-o /dev/null`, `-o /dev/stdout`, a
/// named pipe), never replaced; a symbolic link is followed to its target, which the same
/// rules apply to; a socket or a directory is refused.
enum OutputFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// - Throws: `Failure` naming the path and what it is.
    static func write(_ text: String, to path: String) throws {
        let bytes = Array(text.utf8)
        var target = path
        var info = stat()
        // What the path ends at, links followed: `/dev/stdout` of a pipe is a link to `pipe:[N]`,
        // which has no path to resolve but opens fine.
        if stat(path, &info) == 0, [S_IFCHR, S_IFBLK, S_IFIFO].contains(info.st_mode & S_IFMT) {
            return try writeInPlace(path, bytes)
        }
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            guard let resolved = realpath(path, nil) else {
                throw Failure(description: "\(path) is a symbolic link to something that does not exist (\(errnoText())); give the file's own path")
            }
            target = String(cString: resolved)
            free(resolved)
        }
        guard lstat(target, &info) == 0 else {
            guard errno == ENOENT else { throw Failure(description: "\(path): \(errnoText())") }
            return try replace(target, with: bytes, like: nil)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: try replace(target, with: bytes, like: info)
        case S_IFCHR, S_IFBLK, S_IFIFO: try writeInPlace(target, bytes)
        case S_IFDIR: throw Failure(description: "\(path) is a directory; give a file path such as \(path)/policy.json")
        case S_IFSOCK: throw Failure(description: "\(path) is a socket, which a policy cannot be written to")
        default: throw Failure(description: "\(path) is not a regular file, a device or a FIFO")
        }
    }

    /// Writes through the existing file (a device or FIFO keeps its type, owner and mode).
    private static func writeInPlace(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw Failure(description: "\(path) cannot be opened for writing: \(errnoText())") }
        defer { close(fd) }
        try writeAll(fd, bytes, path)
    }

    /// A temporary file in the same folder, flushed, given the old file's mode and owner, renamed over.
    private static func replace(_ path: String, with bytes: [UInt8], like old: stat?) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var template = Array(((directory.isEmpty ? "." : directory) + "/.confine-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure(description: "\(path) cannot be written: cannot create a file in \(directory.isEmpty ? "." : directory): \(errnoText())") }
        let temporary = String(cString: template)
        var done = false
        defer {
            close(fd)
            if !done { unlink(temporary) }
        }
        try writeAll(fd, bytes, path)
        if let old {
            _ = fchmod(fd, old.st_mode & 0o7777)
            if geteuid() == 0 { _ = fchown(fd, old.st_uid, old.st_gid) }
        } else {
            let mask = umask(0)
            umask(mask)
            _ = fchmod(fd, 0o666 & ~mask)
        }
        guard fsync(fd) == 0 else { throw Failure(description: "\(path) cannot be written: \(errnoText())") }
        guard rename(temporary, path) == 0 else { throw Failure(description: "\(path) cannot be replaced: \(errnoText())") }
        done = true
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
        guard SystemCalls.writeAll(fd, bytes) else { throw Failure(description: "\(path) cannot be written: \(errnoText())") }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
