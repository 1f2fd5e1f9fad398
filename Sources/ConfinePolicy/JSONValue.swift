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
