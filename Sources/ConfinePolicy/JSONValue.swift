import FoundationEssentials

/// A JSON document as decoded by Foundation's `JSONDecoder`, kept untyped so that the
/// policy reader can name every unknown key and wrong type with its field path.
package enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case unsigned(UInt64)
    case signed(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: any Decoder) throws {
        // Foundation's decoder says a value's type only by failing to decode another, and each
        // failure builds an error: try the types in the order policies hold them most (strings,
        // then objects and arrays, then booleans and numbers), so a syscall name costs none.
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let o = try? container.decode([String: JSONValue].self) {
            self = .object(o)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let u = try? container.decode(UInt64.self) {
            self = .unsigned(u)
        } else if let i = try? container.decode(Int64.self) {
            self = .signed(i)
        } else {
            self = .double(try container.decode(Double.self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .unsigned(let u): try container.encode(u)
        case .signed(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    /// A document built of dictionaries, arrays, strings, integers, doubles, booleans and
    /// optionals (nil is JSON's null), as JSON.
    package init(any value: Any?) {
        switch value {
        case nil: self = .null
        case let v as JSONValue: self = v
        case let s as String: self = .string(s)
        case let b as Bool: self = .bool(b)
        case let i as Int: self = i < 0 ? .signed(Int64(i)) : .unsigned(UInt64(i))
        case let i as Int64: self = i < 0 ? .signed(i) : .unsigned(UInt64(i))
        case let i as Int32: self = i < 0 ? .signed(Int64(i)) : .unsigned(UInt64(i))
        case let u as UInt64: self = .unsigned(u)
        case let u as UInt32: self = .unsigned(UInt64(u))
        case let u as UInt16: self = .unsigned(UInt64(u))
        case let u as UInt: self = .unsigned(UInt64(u))
        case let d as Double: self = .double(d)
        case let a as [Any?]: self = .array(a.map { JSONValue(any: $0) })
        case let o as [String: Any?]: self = .object(o.mapValues { JSONValue(any: $0) })
        case .some(let other): self = .string("\(other)")
        }
    }

    /// The document as JSON text: keys sorted, slashes unescaped, indented by two spaces when
    /// `pretty` (Foundation's `JSONEncoder`).
    package func text(pretty: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a JSON text with Foundation's decoder.
    package static func decode(_ text: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text))
    }

    /// The JSON type's name, for messages ("expected a string, found an array").
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .unsigned, .signed, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

// MARK: a compact binary form, for documents kept across runs

extension JSONValue {
    /// The document in a compact binary form that `init(binary:)` reads back without Foundation's
    /// decoder (whose first use in a process, ~1 ms of generic-type set-up, is most of what
    /// reading a policy costs `confine run`). Little-endian; one tag byte per value:
    /// 0 null, 1 false, 2 true, 3 unsigned (u64), 4 signed (i64), 5 double (IEEE 754 bits, u64),
    /// 6 string (u32 length, UTF-8), 7 array (u32 count, values), 8 object (u32 count, then per
    /// member a u32 key length, the key's UTF-8 and its value; keys in sorted order).
    package var binary: [UInt8] {
        var out: [UInt8] = []
        appendBinary(to: &out)
        return out
    }

    /// How deep `init(binary:)` follows nesting: as deep as Foundation's `JSONDecoder` reads.
    package static let maximumDepth = 512

    /// How deep this value nests (a scalar: 0).
    package var depth: Int {
        switch self {
        case .array(let items): 1 + (items.map(\.depth).max() ?? 0)
        case .object(let members): 1 + (members.values.map(\.depth).max() ?? 0)
        default: 0
        }
    }

    private func appendBinary(to out: inout [UInt8]) {
        func u32(_ n: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: n).littleEndian) { out += $0 } }
        func u64(_ n: UInt64) { withUnsafeBytes(of: n.littleEndian) { out += $0 } }
        switch self {
        case .null: out.append(0)
        case .bool(let b): out.append(b ? 2 : 1)
        case .unsigned(let u): out.append(3); u64(u)
        case .signed(let i): out.append(4); u64(UInt64(bitPattern: i))
        case .double(let d): out.append(5); u64(d.bitPattern)
        case .string(let s): out.append(6); u32(s.utf8.count); out += s.utf8
        case .array(let items):
            out.append(7); u32(items.count)
            for item in items { item.appendBinary(to: &out) }
        case .object(let members):
            out.append(8); u32(members.count)
            for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                u32(key.utf8.count); out += key.utf8
                value.appendBinary(to: &out)
            }
        }
    }

    /// Reads the binary form back; nil unless `bytes` are exactly one whole, well-formed value
    /// (nested at most `maximumDepth` deep, strings valid UTF-8, no key twice).
    package init?(binary bytes: [UInt8]) {
        var reader = BinaryReader(bytes: bytes)
        guard let value = reader.value(depth: 0), reader.offset == bytes.count else { return nil }
        self = value
    }

    private struct BinaryReader {
        let bytes: [UInt8]
        var offset = 0

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }

        mutating func u32() -> Int? {
            take(4).map { Int(UInt32(littleEndian: $0.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })) }
        }

        mutating func u64() -> UInt64? {
            take(8).map { UInt64(littleEndian: $0.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }) }
        }

        mutating func string() -> String? {
            guard let count = u32(), let utf8 = take(count) else { return nil }
            return String(validating: utf8, as: UTF8.self)
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth <= JSONValue.maximumDepth, let tag = take(1)?.first else { return nil }
            switch tag {
            case 0: return .null
            case 1: return .bool(false)
            case 2: return .bool(true)
            case 3: return u64().map { .unsigned($0) }
            case 4: return u64().map { .signed(Int64(bitPattern: $0)) }
            case 5: return u64().map { .double(Double(bitPattern: $0)) }
            case 6: return string().map { .string($0) }
            case 7:
                // each value takes at least one byte: a count beyond what is left is corrupt
                guard let count = u32(), count <= bytes.count - offset else { return nil }
                var items: [JSONValue] = []
                items.reserveCapacity(min(count, 1024))
                for _ in 0..<count {
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                }
                return .array(items)
            case 8:
                guard let count = u32(), count <= (bytes.count - offset) / 5 else { return nil }
                var members: [String: JSONValue] = [:]
                members.reserveCapacity(min(count, 1024))
                for _ in 0..<count {
                    guard let key = string(), members[key] == nil, let item = value(depth: depth + 1) else { return nil }
                    members[key] = item
                }
                return .object(members)
            default: return nil
            }
        }
    }
}
