import ConfinePolicy
import Crypto
import Foundation
import Synchronization

/// Alibaba Cloud's ACS3-HMAC-SHA256 request signature (the V3 signature the official SDKs send):
///
///     CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(body))
///     StringToSign     = "ACS3-HMAC-SHA256" \n hex(SHA256(CanonicalRequest))
///     Signature        = hex(HMAC-SHA256(secret, StringToSign))
///     Authorization: ACS3-HMAC-SHA256 Credential=<key id>,SignedHeaders=<a;b;c>,Signature=<hex>
///
/// CanonicalURI is the path as sent (already percent-encoded); CanonicalQuery is every
/// parameter decoded, re-encoded per RFC 3986 (unreserved characters kept, %20 for a space),
/// sorted by name then value, `name=value` joined by `&`; CanonicalHeaders is each signed header
/// as `name:value\n`, names lower-cased and values trimmed, in the order of SignedHeaders (sorted).
public enum ACS3Signature {
    public static let algorithm = "ACS3-HMAC-SHA256"

    public struct Authorization: Sendable, Equatable {
        public var keyID: String
        public var signedHeaders: [String]
        public var signature: String
    }

    /// Parses the Authorization header; nil if it is not an ACS3-HMAC-SHA256 one.
    public static func parseAuthorization(_ value: String) -> Authorization? {
        guard value.hasPrefix(algorithm + " ") else { return nil }
        var fields: [String: String] = [:]
        for part in value.dropFirst(algorithm.count + 1).split(separator: ",") {
            let trimmed = part.trimmingSpaces
            guard let equals = trimmed.firstIndex(of: "=") else { return nil }
            fields[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        guard let credential = fields["Credential"], !credential.isEmpty,
              let signed = fields["SignedHeaders"], !signed.isEmpty,
              let signature = fields["Signature"], !signature.isEmpty else { return nil }
        return Authorization(keyID: credential, signedHeaders: signed.split(separator: ";").map { $0.lowercased() }, signature: signature)
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters.
    public static func percentEncode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Decodes a query component: %XX, and `+` as a space (the SDKs build queries with
    /// form encoding: `qualifier=prod+v1` is signed as `qualifier=prod%20v1`); malformed escapes stay.
    static func percentDecode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The canonical query string of a raw (still encoded) query.
    public static func canonicalQuery(_ rawQuery: Substring) -> String {
        guard !rawQuery.isEmpty else { return "" }
        let pairs = rawQuery.split(separator: "&", omittingEmptySubsequences: true).map { item -> (String, String) in
            if let equals = item.firstIndex(of: "=") {
                return (percentEncode(percentDecode(item[..<equals])), percentEncode(percentDecode(item[item.index(after: equals)...])))
            }
            return (percentEncode(percentDecode(item)), "")
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    public static func hexSHA256<D: DataProtocol>(_ data: D) -> String {
        hex(SHA256.hash(data: data))
    }

    /// Lower-case hex of a digest (a table, not String(format:) per byte: this runs on every request).
    static func hex<S: Sequence<UInt8>>(_ bytes: S) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical request. `headers` maps lower-cased names to their (possibly repeated) values.
    public static func canonicalRequest(method: String, path: String, rawQuery: Substring, headers: [String: [String]],
                                        signedHeaders: [String], payloadHash: String) -> String {
        var text = "\(method)\n\(path.isEmpty ? "/" : path)\n\(canonicalQuery(rawQuery))\n"
        for name in signedHeaders {
            let value = (headers[name] ?? []).map { $0.trimmingSpaces }.joined(separator: ",")
            text += "\(name):\(value)\n"
        }
        text += "\n\(signedHeaders.joined(separator: ";"))\n\(payloadHash)"
        return text
    }

    public static func signature(secret: String, canonicalRequest: String) -> String {
        let stringToSign = "\(algorithm)\n\(hexSHA256(Array(canonicalRequest.utf8)))"
        let mac = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return hex(mac)
    }

    /// Signs a request as a client would: returns the headers to add (date, nonce, content hash,
    /// Authorization). Used by the tests, the benchmark and Swift clients.
    public static func sign(method: String, path: String, rawQuery: Substring = "", headers: [String: String], body: [UInt8],
                            keyID: String, secret: String, date: Date = Date(), nonce: String = UUID().uuidString) -> [String: String] {
        var all = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) })
        all["x-acs-date"] = iso8601(date)
        all["x-acs-signature-nonce"] = nonce
        all["x-acs-content-sha256"] = hexSHA256(body)
        let signed = all.keys.filter { $0 == "host" || $0 == "content-type" || $0.hasPrefix("x-acs-") }.sorted()
        let canonical = canonicalRequest(method: method, path: path, rawQuery: rawQuery, headers: all.mapValues { [$0] },
                                         signedHeaders: signed, payloadHash: all["x-acs-content-sha256"] ?? "")
        all["authorization"] = "\(algorithm) Credential=\(keyID),SignedHeaders=\(signed.joined(separator: ";")),Signature=\(signature(secret: secret, canonicalRequest: canonical))"
        return all
    }

    /// RFC 3339 in UTC (`2026-11-30T02:20:00Z`), as x-acs-date carries it.
    public static func iso8601(_ date: Date) -> String {
        Date.ISO8601FormatStyle().format(date)
    }

    /// An x-acs-date: RFC 3339 with `Z` or a `±hh:mm` offset, with or without fractional
    /// seconds. FoundationEssentials' ISO 8601 style: no ICU formatter built per request.
    public static func parseDate(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}

/// Nonces seen within the clock-skew window: a signed request is accepted once.
final class ReplayGuard: Sendable {
    private struct State {
        var seen: [String: Date] = [:]
        var lastPrune = Date.distantPast
    }
    private let window: TimeInterval
    private let state = Mutex(State())

    /// Remembers nonces for twice the clock-skew window: a request dated at the far edge of
    /// the window cannot come back once its nonce is forgotten.
    init(window: Duration) {
        self.window = Double(window.components.seconds) * 2 + 1
    }

    /// Loads nonces recorded before a restart.
    func preload(_ entries: [(keyID: String, nonce: String, time: Date)]) {
        state.withLock { s in for entry in entries { s.seen["\(entry.keyID)\u{0}\(entry.nonce)"] = entry.time } }
    }

    /// True the first time a (key, nonce) pair is seen within the window.
    func admit(keyID: String, nonce: String, now: Date = Date()) -> Bool {
        let nonce = "\(keyID)\u{0}\(nonce)"
        return state.withLock { s in
            if now.timeIntervalSince(s.lastPrune) > 10 {
                s.seen = s.seen.filter { now.timeIntervalSince($0.value) < window }
                s.lastPrune = now
            }
            if let seen = s.seen[nonce], now.timeIntervalSince(seen) < window { return false }
            s.seen[nonce] = now
            return true
        }
    }
}
