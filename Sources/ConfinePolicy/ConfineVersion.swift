/// Confine's version, as `confine --version` prints it and as the caches of compiled filters and
/// parsed policy files are keyed by.
public enum ConfineVersion {
    public static let string = "1.0.0"
}
