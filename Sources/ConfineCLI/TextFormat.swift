import FoundationEssentials

/// Text helpers for the command's output (what Foundation's `String(format:)` and
/// `padding(toLength:)` would do, without linking Foundation's ICU-backed half).
enum TextFormat {
    /// `x` with one decimal, rounded half away from zero: 0.44 → "0.4", 10 → "10.0".
    static func oneDecimal(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return (tenths < 0 ? "-" : "") + "\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    /// `text` cut or padded with spaces to exactly `width` characters.
    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
    }
}

extension TextFormat {
    /// `text` with each policy file under the current folder named relative to it, as the user
    /// named it (`/work/p/policies/base.json:16` → `policies/base.json:16` from `/work/p`): a
    /// path ending in `.json`, optionally with `:LINE`, that starts at a word boundary.
    static func relativeOrigins(_ text: String, from here: String = FileManager.default.currentDirectoryPath) -> String {
        guard here != "/", text.contains(here + "/") else { return text }
        var result = ""
        var rest = Substring(text)
        while let range = rest.firstRange(of: here + "/") {
            let before = rest[..<range.lowerBound]
            let boundary = (before.last ?? " ") == " " || "([,".contains(before.last ?? " ")
            let tail = rest[range.upperBound...]
            let path = tail.prefix { !" ),]\n".contains($0) }
            let file = path.split(separator: ":").first.map(String.init) ?? ""
            result += before
            if boundary && file.hasSuffix(".json") && !file.contains("/../") {
                result += path
            } else {
                result += rest[range] + path
            }
            rest = tail[path.endIndex...]
        }
        return result + rest
    }
}
