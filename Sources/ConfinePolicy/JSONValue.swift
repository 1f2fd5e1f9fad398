import Foundation

/// A JSON document as decoded by Foundation's `JSONDecoder`, kept untyped so that the
/// policy reader can name every unknown key and wrong type with its field path.
package enum JSONValue: Sendable, Hashable, Decodable {
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
