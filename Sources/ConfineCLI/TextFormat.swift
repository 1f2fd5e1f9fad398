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
