/// A classic-BPF seccomp program and an interpreter for it, so that `confine check` and the
/// tests ask the compiled filter itself — not a model of it — what it does with a call.
public struct BPFProgram: Sendable {
    public struct Instruction: Sendable, Hashable {
        public var code: UInt16, jt: UInt8, jf: UInt8, k: UInt32
    }

    /// What the filter returned (`SECCOMP_RET_*`).
    public enum Verdict: Sendable, Hashable, CustomStringConvertible {
        case allow, errno(UInt16), killProcess, killThread, trap, log, trace, userNotify, other(UInt32)

        init(_ value: UInt32) {
            switch value & 0xffff_0000 {
            case 0x7fff_0000: self = .allow
            case 0x0005_0000: self = .errno(UInt16(value & 0xffff))
            case 0x8000_0000: self = .killProcess
            case 0x0000_0000: self = .killThread
            case 0x0003_0000: self = .trap
            case 0x7ffc_0000: self = .log
            case 0x7ff0_0000: self = .trace
            case 0x7fc0_0000: self = .userNotify
            default: self = .other(value)
            }
        }

        public var description: String {
            switch self {
            case .allow: "allow"
            case .errno(let e): "errno \(e)"
            case .killProcess: "kill process"
            case .killThread: "kill thread"
            case .trap: "trap (SIGSYS)"
            case .log: "allow and log"
            case .trace: "trace"
            case .userNotify: "user notification"
            case .other(let v): "action 0x\(String(v, radix: 16))"
            }
        }
    }

    public struct EvaluationError: Error, CustomStringConvertible {
        public var description: String
    }

    public var instructions: [Instruction]

    public init(_ filter: CompiledFilter) {
        let b = filter.bytes
        instructions = stride(from: 0, to: b.count - b.count % 8, by: 8).map { (i: Int) -> Instruction in
            let code: UInt16 = UInt16(b[i]) | UInt16(b[i + 1]) << 8
            let low: UInt32 = UInt32(b[i + 4]) | UInt32(b[i + 5]) << 8
            let high: UInt32 = UInt32(b[i + 6]) << 16 | UInt32(b[i + 7]) << 24
            return Instruction(code: code, jt: b[i + 2], jf: b[i + 3], k: low | high)
        }
    }

    /// AUDIT_ARCH_X86_64 and AUDIT_ARCH_I386, the arches this machine's kernel reports.
    public static let auditArchX86_64: UInt32 = 0xC000_003E
    public static let auditArchI386: UInt32 = 0x4000_0003

    /// Runs the program on one `struct seccomp_data`.
    /// - Throws: `EvaluationError` when the program is malformed (a load out of bounds, running off its end).
    public func evaluate(nr: Int32, arch: UInt32 = auditArchX86_64, arguments: [UInt64] = []) throws -> Verdict {
        var data = [UInt8](repeating: 0, count: 64)
        func put32(_ v: UInt32, at offset: Int) { for i in 0..<4 { data[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        put32(UInt32(bitPattern: nr), at: 0)
        put32(arch, at: 4)
        for (i, arg) in arguments.prefix(6).enumerated() {
            put32(UInt32(truncatingIfNeeded: arg), at: 16 + 8 * i)
            put32(UInt32(truncatingIfNeeded: arg >> 32), at: 20 + 8 * i)
        }
        var a: UInt32 = 0, x: UInt32 = 0
        var memory = [UInt32](repeating: 0, count: 16)
        var pc = 0
        func load(_ k: UInt32) throws -> UInt32 {
            let o = Int(k)
            guard o + 4 <= data.count else { throw EvaluationError(description: "load out of bounds at \(o)") }
            return UInt32(data[o]) | UInt32(data[o + 1]) << 8 | UInt32(data[o + 2]) << 16 | UInt32(data[o + 3]) << 24
        }
        for _ in 0..<100_000 {
            guard pc < instructions.count else { throw EvaluationError(description: "ran off the end of the program") }
            let ins = instructions[pc]
            pc += 1
            switch ins.code {
            case 0x20: a = try load(ins.k)                          // ld [k]
            case 0x00: a = ins.k                                    // ld #k
            case 0x01: x = ins.k                                    // ldx #k
            case 0x60: a = memory[Int(ins.k & 15)]                  // ld M[k]
            case 0x61: x = memory[Int(ins.k & 15)]                  // ldx M[k]
            case 0x02: memory[Int(ins.k & 15)] = a                  // st M[k]
            case 0x03: memory[Int(ins.k & 15)] = x                  // stx M[k]
            case 0x04: a = a &+ ins.k                               // add #k
            case 0x14: a = a &- ins.k                               // sub #k
            case 0x44: a |= ins.k                                   // or #k
            case 0x54: a &= ins.k                                   // and #k
            case 0x64: a = ins.k < 32 ? a << ins.k : 0              // lsh #k
            case 0x74: a = ins.k < 32 ? a >> ins.k : 0              // rsh #k
            case 0x5c: a &= x                                       // and x
            case 0x07: x = a                                        // tax
            case 0x87: a = x                                        // txa
            case 0x05: pc += Int(ins.k)                             // ja
            case 0x15: pc += a == ins.k ? Int(ins.jt) : Int(ins.jf) // jeq #k
            case 0x25: pc += a > ins.k ? Int(ins.jt) : Int(ins.jf)  // jgt #k
            case 0x35: pc += a >= ins.k ? Int(ins.jt) : Int(ins.jf) // jge #k
            case 0x45: pc += a & ins.k != 0 ? Int(ins.jt) : Int(ins.jf) // jset #k
            case 0x1d: pc += a == x ? Int(ins.jt) : Int(ins.jf)     // jeq x
            case 0x2d: pc += a > x ? Int(ins.jt) : Int(ins.jf)      // jgt x
            case 0x3d: pc += a >= x ? Int(ins.jt) : Int(ins.jf)     // jge x
            case 0x06: return Verdict(ins.k)                        // ret #k
            case 0x16: return Verdict(a)                            // ret a
            default:
                throw EvaluationError(description: "unsupported BPF instruction 0x\(String(ins.code, radix: 16)) at \(pc - 1)")
            }
        }
        throw EvaluationError(description: "the program did not return")
    }
}
