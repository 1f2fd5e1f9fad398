/// The line on which each value of a JSON text starts, keyed by field path
/// (`seccomp.syscalls[2].names[0]`), so that errors found after decoding can name the line.
/// It also finds the line of a syntax error, which Foundation's decoder does not always say.
package struct JSONSourceMap: Sendable {
    package private(set) var lines: [String: Int] = [:]
    /// Set when the text is not valid JSON: the line and what was found there.
    package private(set) var syntaxError: (line: Int, message: String)?

    package init(_ text: [UInt8]) {
        var scanner = Scanner(bytes: text)
        do {
            scanner.skipSpace()
            try scanner.value(path: "")
            scanner.skipSpace()
            if scanner.index < text.count { throw Scanner.Failure(message: "unexpected text after the end of the document") }
        } catch let failure as Scanner.Failure {
            syntaxError = (scanner.line, failure.message)
        } catch {
            syntaxError = (scanner.line, "\(error)")
        }
        lines = scanner.lines
    }

    /// The map of a text read before, from its `lines` (kept with the parsed document).
    package init(lines: [String: Int]) {
        self.lines = lines
    }

    /// The line of `path`, or of its nearest enclosing field that has one.
    package func line(of path: String) -> Int? {
        var path = path
        while true {
            if let line = lines[path] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return lines[""] }
            path = String(path[..<cut])
        }
    }

    private struct Scanner {
        struct Failure: Error { var message: String }
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lines: [String: Int] = [:]

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\n"): line += 1; index += 1
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
                default: return
                }
            }
        }

        mutating func value(path: String) throws {
            skipSpace()
            guard index < bytes.count else { throw Failure(message: "unexpected end of the document") }
            if lines[path] == nil { lines[path] = line }
            switch bytes[index] {
            case UInt8(ascii: "{"): try object(path: path)
            case UInt8(ascii: "["): try array(path: path)
            case UInt8(ascii: "\""): _ = try string()
            default: try literal()
            }
        }

        mutating func object(path: String) throws {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw Failure(message: "expected a quoted key")
                }
                let keyLine = line
                let key = try string()
                let child = path.isEmpty ? key : "\(path).\(key)"
                lines[child] = keyLine
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw Failure(message: "expected ':' after the key \"\(key)\"")
                }
                index += 1
                try value(path: child)
                skipSpace()
                guard index < bytes.count else { throw Failure(message: "unexpected end inside an object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return }
                throw Failure(message: "expected ',' or '}' in an object")
            }
        }

        mutating func array(path: String) throws {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return }
            var element = 0
            while true {
                try value(path: "\(path)[\(element)]")
                element += 1
                skipSpace()
                guard index < bytes.count else { throw Failure(message: "unexpected end inside an array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return }
                throw Failure(message: "expected ',' or ']' in an array")
            }
        }

        mutating func string() throws -> String {
            index += 1
            var raw: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return String(decoding: raw, as: UTF8.self) }
                if byte == UInt8(ascii: "\n") { throw Failure(message: "line break inside a string") }
                if byte == UInt8(ascii: "\\"), index < bytes.count { raw.append(bytes[index]); index += 1; continue }
                raw.append(byte)
            }
            throw Failure(message: "unterminated string")
        }

        mutating func literal() throws {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                let isLiteral = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "E")
                guard isLiteral else { break }
                index += 1
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if text.isEmpty {
                throw Failure(message: "unexpected character '\(String(decoding: [bytes[index]], as: UTF8.self))'")
            }
            if text == "true" || text == "false" || text == "null" || Double(text) != nil { return }
            throw Failure(message: "'\(text)' is not a JSON value")
        }
    }
}
