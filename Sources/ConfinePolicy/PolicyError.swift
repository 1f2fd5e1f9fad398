/// A policy that cannot be used, and exactly where and why: the file, the line, the field
/// path (`seccomp.syscalls[2].names[0]`), what was wrong and what would be accepted.
public struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// The line (1-based) of the field, where the text has one.
    public var line: Int?
    public var path: String
    public var message: String

    public init(file: String, line: Int? = nil, path: String, message: String) {
        self.file = file
        self.line = line
        self.path = path
        self.message = message
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}
