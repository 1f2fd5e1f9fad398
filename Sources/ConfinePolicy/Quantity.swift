/// Sizes ("64MiB") and durations ("30s") as written in policies.
public enum Quantity {
    static let sizeUnits: [(suffix: String, factor: UInt64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("B", 1),
    ]
    public static let acceptedSizes = "a number of bytes, or a number followed by B, KiB, MiB, GiB, TiB, KB, MB, GB or TB (\"64MiB\")"
    public static let acceptedDurations = "a number of seconds, or a number followed by ms, s, m or h (\"30s\", \"500ms\")"

    /// Parses "64MiB", "1.5GiB", "4096" into bytes; `nil` when it is not a size.
    public static func parseSize(_ text: String) -> UInt64? {
        let trimmed = text.trimmingSpaces
        for unit in sizeUnits where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count).trimmingSpaces
            if let whole = UInt64(number) {
                let (product, overflow) = whole.multipliedReportingOverflow(by: unit.factor)
                return overflow ? nil : product
            }
            guard let fraction = Double(number), fraction >= 0, fraction.isFinite else { return nil }
            let bytes = fraction * Double(unit.factor)
            return bytes < 1.8e19 ? UInt64(bytes) : nil
        }
        return UInt64(trimmed)
    }

    /// Parses "30s", "500ms", "2m", "1h", "1.5" (seconds) into a duration; `nil` otherwise.
    public static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingSpaces
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingSpaces
            guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
            return seconds(value * factor)
        }
        guard let value = Double(trimmed), value.isFinite, value >= 0 else { return nil }
        return seconds(value)
    }

    /// A duration from a number of seconds, exact to the nanosecond.
    /// Values too large for a Duration are clamped (to about 292 years), negative ones to zero.
    public static func seconds(_ value: Double) -> Duration {
        let nanoseconds = (value * 1e9).rounded()
        guard nanoseconds.isFinite, nanoseconds < 9.2e18 else { return value < 0 ? .zero : .nanoseconds(Int64.max) }
        return .nanoseconds(Int64(max(0, nanoseconds)))
    }

    /// "30s", "1.5s", "250ms": how a duration is written back.
    public static func format(_ duration: Duration) -> String {
        let (s, attos) = duration.components
        if attos == 0 { return "\(s)s" }
        let ms = Double(s) * 1000 + Double(attos) / 1e15
        return ms < 1000 ? "\(ms.formatted3)ms" : "\((ms / 1000).formatted3)s"
    }

    /// "64MiB": how a size is written back.
    public static func format(bytes: UInt64) -> String {
        for (suffix, factor) in [("TiB", UInt64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= factor && bytes % factor == 0 {
            return "\(bytes / factor)\(suffix)"
        }
        return "\(bytes)B"
    }
}

extension Double {
    var formatted3: String {
        let rounded = (self * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (s, attos) = components
        return Double(s) + Double(attos) / 1e18
    }
}

extension StringProtocol {
    /// The text without the spaces and tabs around it.
    package var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
