/// Confine's version, as `confine --version` prints it and as compiled-filter caches are keyed by.
public enum ConfineVersion {
    public static let string = "1.0.0"
}
