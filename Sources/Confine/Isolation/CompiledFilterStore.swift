import ConfinePolicy
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Compiled seccomp filters kept across runs, so that a program that runs one command and exits
/// (`confine run`) does not compile its policy every time: one file per filter in a folder of
/// the user's own (`$CONFINE_CACHE_DIR`, else `$XDG_CACHE_HOME/confine/filters`, else
/// `~/.cache/confine/filters`). The policy files themselves are kept there parsed too (`.doc`
/// entries, see `PolicyDocumentCache`), under the same rules.
///
/// A cached filter decides what a command may do, so the store trusts nothing it cannot vouch
/// for:
/// - the folder must be a real directory (not a symbolic link) owned by this process's user and
///   writable by no one else, and so must each entry; otherwise the store is refused (`refusal`
///   says why) and policies are compiled as if there were no cache;
/// - an entry holds its whole key (`PolicyCompiler.cacheKey`: Confine's and libseccomp's
///   versions, the machine, the mode, the profile) and a checksum; an entry whose key differs
///   (stale), whose checksum or length does not add up (corrupt) or that is not a whole BPF
///   program is ignored, and the filter is compiled and written again;
/// - entries are written to a temporary file and renamed into place, mode 0600.
package final class CompiledFilterStore: @unchecked Sendable {
    /// The folder, as opened (a descriptor, so that no rename of the path can swap it later).
    private let directory: Int32
    let path: String

    /// Why the folder (or an entry of it) was refused, for a warning; nil when it is in use.
    /// (Written by lookups: a store is used from one thread at a time, under `FilterCache`'s
    /// lock or on the CLI's main thread.)
    package private(set) var refusal: String?
    /// Why `standard()` found no folder to use.
    nonisolated(unsafe) private(set) static var lastRefusal: String?

    private static let magic = Array("CFLBPF1\n".utf8)

    /// The store in the default folder, made (0700) if missing; nil when there is none to use:
    /// caching off (`CONFINE_CACHE_DIR` set empty), no home, a caller that is not root, or a
    /// folder refused (see `refusal`).
    ///
    /// Only root keeps a cache. What it holds decides later runs, so no command may write it:
    /// root's commands run under leased uids, which cannot write a folder of root's with mode
    /// 0700, and no folder that holds the cache is ever mounted as its owner's for them
    /// (`IdmappedMounts`: written as root, it would let them). An ordinary user's commands run
    /// under that user's own uid, kept from the user's files only by the filesystem view, which a
    /// host without Landlock does not give and which a working directory above the folder (the
    /// home) would open: a command could rewrite the filter or the policy of every later run. So
    /// no cache for them.
    package static func standard() -> CompiledFilterStore? {
        guard geteuid() == 0 else {
            lastRefusal = nil
            return nil
        }
        guard let path = standardPath() else { return nil }
        let store = CompiledFilterStore(path: path)
        // A folder that cannot be made or opened is said only when it was named explicitly: a
        // home that cannot hold a cache (a system user's) is no reason to warn on every run.
        if store == nil, getenv("CONFINE_CACHE_DIR") == nil, lastRefusal?.hasSuffix(Self.unusable) == true { lastRefusal = nil }
        return store
    }

    /// Where this process keeps its cache: `$CONFINE_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/confine/filters`, else `$HOME/.cache/confine/filters`; nil when caching is
    /// off (`CONFINE_CACHE_DIR` empty), there is no home, or the path is not absolute (said in
    /// `lastRefusal`).
    static func standardPath() -> String? {
        // getenv(3), not ProcessInfo's environment: that builds a dictionary of every variable,
        // ~0.25 ms of every `confine run`
        func variable(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        if let explicit = variable("CONFINE_CACHE_DIR") {
            guard !explicit.isEmpty else { return nil }
            guard explicit.hasPrefix("/") else {
                lastRefusal = "CONFINE_CACHE_DIR '\(explicit)' is not an absolute path (accepted: an absolute path, or empty to turn the cache off)"
                return nil
            }
            return explicit
        } else if let xdg = variable("XDG_CACHE_HOME"), xdg.hasPrefix("/") {
            return xdg + "/confine/filters"
        } else if let home = variable("HOME"), home.hasPrefix("/") {
            return home + "/.cache/confine/filters"
        }
        return nil
    }

    /// The cache folders a command must never be able to write (root's default one, and this
    /// process's), with every folder above them, by device and inode.
    static let protectedFolders: Set<IdmappedMounts.Identity> = {
        var paths = [standardPath()]
        if let root = getpwuid(0), let home = root.pointee.pw_dir { paths.append(String(cString: home) + "/.cache/confine/filters") }
        var found: Set<IdmappedMounts.Identity> = []
        for case let path? in paths {
            var folder = path
            while true {
                var info = stat()
                if stat(folder, &info) == 0 { found.insert(IdmappedMounts.Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))) }
                guard folder != "/", let slash = folder.lastIndex(of: "/") else { break }
                folder = slash == folder.startIndex ? "/" : String(folder[..<slash])
            }
        }
        return found
    }()

    private static let unusable = "(cannot be made or opened)"

    /// Opens (making it if missing, 0700) and checks the folder; nil if it is refused.
    init?(path: String) {
        self.path = path
        Self.makeFolders(path)
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            Self.lastRefusal = errno == ELOOP || errno == ENOTDIR
                ? "\(path) is not a directory of its own (a symbolic link?)"
                : "\(path): \(ConfineError.errnoText(errno)) \(Self.unusable)"
            return nil
        }
        if let problem = Self.problem(with: fd, what: "the folder") {
            close(fd)
            Self.lastRefusal = "\(path): \(problem)"
            return nil
        }
        directory = fd
    }

    deinit { close(directory) }

    /// The filter kept under `key`, if there is a sound entry for it.
    func filter(for key: String) -> CompiledFilter? {
        entry(named: Self.fileName(for: key), limit: 1 << 20).flatMap { Self.decode($0, key: Array(key.utf8)) }
    }

    /// Keeps `filter` under `key`; a failure to write is no error (the next run compiles again).
    func store(_ filter: CompiledFilter, for key: String) {
        write(Self.encode(filter, key: Array(key.utf8)), named: Self.fileName(for: key))
    }

    /// The bytes of the entry `name`, if it is a regular file of this user's that no one else
    /// may write, of at most `limit` bytes (`refusal` says why one is not).
    private func entry(named name: String, limit: Int) -> [UInt8]? {
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if let problem = Self.problem(with: fd, what: "the entry") {
            refusal = "\(path)/\(name): \(problem)"
            return nil
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0, info.st_size <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let n = bytes.withUnsafeMutableBytes { SystemCalls.read(fd, $0) }
        return n == bytes.count ? bytes : nil
    }

    /// Writes an entry whole: to a temporary file (0600), then renamed into place.
    private func write(_ bytes: [UInt8], named name: String) {
        let temporary = ".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = SystemCalls.writeAll(fd, bytes)
        close(fd)
        if !written || renameat(directory, temporary, directory, name) != 0 {
            unlinkat(directory, temporary, 0)
        }
    }

    // MARK: the entry format
    //
    //   "CFLBPF1\n"  key length (u32)  program length (u32)  mode (u8)  0  notify errno (u16)
    //   checksum (u64, FNV-1a of key and program)  key  program (struct sock_filter, 8 bytes each)

    static func encode(_ filter: CompiledFilter, key: [UInt8]) -> [UInt8] {
        var out = magic
        append(UInt32(key.count), to: &out)
        append(UInt32(filter.bytes.count), to: &out)
        out += [modeByte(filter.mode), 0]
        append(filter.notifyErrno, to: &out)
        append(checksum(key, filter.bytes), to: &out)
        return out + key + filter.bytes
    }

    /// The filter in `bytes`, if they are a whole, sound entry for `key`.
    static func decode(_ bytes: [UInt8], key: [UInt8]) -> CompiledFilter? {
        let header = magic.count + 4 + 4 + 2 + 2 + 8
        guard bytes.count >= header, Array(bytes.prefix(magic.count)) == magic else { return nil }
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            bytes[offset..<offset + MemoryLayout<T>.size].withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
        let keyLength = Int(load(magic.count, UInt32.self))
        let programLength = Int(load(magic.count + 4, UInt32.self))
        guard bytes.count == header + keyLength + programLength, keyLength == key.count,
              programLength > 0, programLength % 8 == 0, programLength / 8 <= 4096,
              let mode = mode(of: bytes[magic.count + 8]) else { return nil }
        let storedKey = Array(bytes[header..<header + keyLength])
        let program = Array(bytes[(header + keyLength)...])
        guard storedKey == key, load(magic.count + 12, UInt64.self) == checksum(storedKey, program) else { return nil }
        return CompiledFilter(bytes: program, mode: mode, notifyErrno: load(magic.count + 10, UInt16.self))
    }

    // MARK: policy documents
    //
    //   "CFLDOC2\n"  version length (u32)  text length (u32)  document length (u32)
    //   lines length (u32)  checksum (u64, FNV-1a of version, text, document and lines)
    //   version  text  document  lines
    //
    // The version is Confine's (and the magic, the entry format's: a change to `JSONValue`'s
    // binary form, to how it is read from JSON or to the lines is a new magic); the text is the
    // policy file's, whole, compared byte for byte with the file read now (the file name, a hash
    // of both, only finds the entry); the document is `JSONValue.binary`; the lines, the line of
    // each field path (`JSONSourceMap.lines`), sorted by path: line (u32), path length (u32), path.

    private static let documentMagic = Array("CFLDOC2\n".utf8)
    private static let documentLimit = 4 << 20

    static func documentFileName(for text: [UInt8]) -> String {
        let hex = String(checksum(documentMagic, Array(ConfineVersion.string.utf8), text), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + ".doc"
    }

    static func encodeDocument(_ document: JSONValue, lines: [String: Int] = [:], text: [UInt8],
                               version: String = ConfineVersion.string) -> [UInt8] {
        let version = Array(version.utf8)
        let body = document.binary
        var table: [UInt8] = []
        for (path, line) in lines.sorted(by: { $0.key < $1.key }) {
            append(UInt32(clamping: line), to: &table)
            append(UInt32(path.utf8.count), to: &table)
            table += path.utf8
        }
        var out = documentMagic
        append(UInt32(version.count), to: &out)
        append(UInt32(text.count), to: &out)
        append(UInt32(body.count), to: &out)
        append(UInt32(table.count), to: &out)
        append(checksum(version, text, body, table), to: &out)
        return out + version + text + body + table
    }

    /// The document in `bytes`, if they are a whole, sound entry for this Confine and `text`.
    static func decodeDocument(_ bytes: [UInt8], text: [UInt8]) -> JSONValue? {
        decodeEntry(bytes, text: text)?.document
    }

    /// The document and its lines in `bytes`, if they are a whole, sound entry for this Confine
    /// and `text`.
    static func decodeEntry(_ bytes: [UInt8], text: [UInt8]) -> (document: JSONValue, lines: [String: Int])? {
        let header = documentMagic.count + 4 + 4 + 4 + 4 + 8
        guard bytes.count >= header, bytes.starts(with: documentMagic) else { return nil }
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            bytes[offset..<offset + MemoryLayout<T>.size].withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
        let versionLength = Int(load(documentMagic.count, UInt32.self))
        let textLength = Int(load(documentMagic.count + 4, UInt32.self))
        let bodyLength = Int(load(documentMagic.count + 8, UInt32.self))
        let tableLength = Int(load(documentMagic.count + 12, UInt32.self))
        let version = Array(ConfineVersion.string.utf8)
        guard versionLength == version.count, textLength == text.count,
              bytes.count == header + versionLength + textLength + bodyLength + tableLength else { return nil }
        let textStart = header + versionLength
        let bodyStart = textStart + textLength
        let tableStart = bodyStart + bodyLength
        guard bytes[header..<textStart].elementsEqual(version), bytes[textStart..<bodyStart].elementsEqual(text) else { return nil }
        let body = Array(bytes[bodyStart..<tableStart])
        let table = Array(bytes[tableStart...])
        guard load(documentMagic.count + 16, UInt64.self) == checksum(version, text, body, table),
              let document = JSONValue(binary: body) else { return nil }
        var lines: [String: Int] = [:]
        var offset = 0
        while offset < table.count {
            guard table.count - offset >= 8 else { return nil }
            let line = table[offset..<offset + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let length = Int(table[offset + 4..<offset + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            offset += 8
            guard length <= table.count - offset, let path = String(validating: table[offset..<offset + length], as: UTF8.self) else { return nil }
            lines[path] = Int(line)
            offset += length
        }
        return (document, lines)
    }

    static func fileName(for key: String) -> String {
        let hex = String(checksum(Array(key.utf8), []), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + ".bpf"
    }

    /// FNV-1a, 64 bits: finds corruption (the folder's ownership keeps others from forging).
    static func checksum(_ parts: [UInt8]...) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return hash
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private static func modeByte(_ mode: FilterMode) -> UInt8 {
        switch mode {
        case .enforce: 0
        case .report: 1
        case .learn: 2
        }
    }

    private static func mode(of byte: UInt8) -> FilterMode? {
        switch byte {
        case 0: .enforce
        case 1: .report
        case 2: .learn
        default: nil
        }
    }

    /// What makes an open folder or entry untrustworthy: another owner, or write access for
    /// group or others.
    private static func problem(with fd: Int32, what: String) -> String? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "cannot stat \(what): \(ConfineError.errnoText(errno))" }
        if info.st_uid != geteuid() {
            return "\(what) belongs to uid \(info.st_uid), not to uid \(geteuid()) that runs Confine: another user could swap a compiled filter or a policy"
        }
        if info.st_mode & 0o022 != 0 {
            return "\(what) is writable by other users (mode \(String(info.st_mode & 0o7777, radix: 8))): another user could swap a compiled filter or a policy"
        }
        return nil
    }

    /// mkdir -p with 0700 for each folder made.
    private static func makeFolders(_ path: String) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            mkdir(prefix, 0o700)
        }
    }
}

/// Policy files kept parsed (`PolicyReader.documents`), in the same folder and under the same
/// checks as the compiled filters: a document decides a policy as much as its filter does.
extension CompiledFilterStore: PolicyDocumentCache {
    package func document(for text: [UInt8]) -> (document: JSONValue, lines: [String: Int])? {
        entry(named: Self.documentFileName(for: text), limit: Self.documentLimit).flatMap { Self.decodeEntry($0, text: text) }
    }

    package func keep(_ document: JSONValue, lines: [String: Int], for text: [UInt8]) {
        // only what a later run can read back: within the size read and the depth followed
        guard text.count < Self.documentLimit, document.depth <= JSONValue.maximumDepth else { return }
        let bytes = Self.encodeDocument(document, lines: lines, text: text)
        guard bytes.count <= Self.documentLimit else { return }
        write(bytes, named: Self.documentFileName(for: text))
    }
}
