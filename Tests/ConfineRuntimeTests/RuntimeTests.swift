import Confine
import ConfineExamples
import ConfinePolicy
import ConfineRuntime
import Foundation
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples").path

extension [UInt8] {
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// Swift handlers the tests register.
struct RunsFalse: FunctionHandler {
    func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8] {
        try await context.executor.checkOutput(["false"])
    }
}

struct SleepsLong: FunctionHandler {
    func handle(_ event: [UInt8], context: FunctionContext) async throws -> [UInt8] {
        _ = try await context.executor.checkOutput(["sleep", "120"])
        return []
    }
}

enum Runtimes {
    static func make(_ file: String) -> FunctionRuntime {
        let registry = HandlerRegistry()
        Examples.register(in: registry)
        registry.register("tests.false", RunsFalse())
        registry.register("tests.slow", SleepsLong())
        do {
            return try FunctionRuntime(configuration: try FunctionConfiguration.load(file), registry: registry)
        } catch {
            fatalError("cannot load \(file): \(error)")
        }
    }
    static let fixtures = make(ConfineRuntimeTests.fixtures + "/functions.json")
    static let examples = make(ConfineRuntimeTests.examples + "/functions.json")
}

@Suite struct ExampleTests {
    @Test(arguments: ["json-key", "json-key-swift"])
    func jsonKey(_ name: String) async throws {
        let invocation = await Runtimes.examples.invoke(name, event: Array(#"{"key": "value"}"#.utf8))
        #expect(try invocation.result.get().text == "value")
    }

    @Test(arguments: ["ls", "ls-swift"])
    func listing(_ name: String) async throws {
        let invocation = await Runtimes.examples.invoke(name, event: [])
        let text = try invocation.result.get().text
        #expect(text.hasPrefix("total "), "\(text)")
    }

    @Test func executableHandler() async throws {
        let invocation = await Runtimes.examples.invoke("upper", event: Array("hello".utf8))
        #expect(try invocation.result.get().text == "HELLO")
        #expect(invocation.log.text.contains("request \(invocation.requestID) for upper"))
    }

    @Test func eventThatIsNotJSONReachesTheHandlerAsBytes() async throws {
        let invocation = await Runtimes.examples.invoke("json-key", event: Array("not json".utf8))
        guard case .failure(let error) = invocation.result else { Issue.record("expected an error"); return }
        #expect(error.errorType == "JSONDecodeError")
        #expect(error.stackTrace.contains { $0.contains("index.py") })
        #expect(!error.stackTrace.contains { $0.contains("bootstrap.py") }, "the bootstrap's own frames are not shown")
    }
}

@Suite struct RuntimeTests {
    let runtime = Runtimes.fixtures

    func failure(_ name: String, event: [UInt8] = []) async -> FunctionError? {
        if case .failure(let error) = await runtime.invoke(name, event: event).result { return error }
        return nil
    }

    @Test func pythonContextHasFunctionComputesAttributes() async throws {
        let invocation = await runtime.invoke("context", event: [0, 1, 255], requestID: "req-123")
        let data = try invocation.result.get()
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any])
        #expect(fields["request_id"] as? String == "req-123")
        #expect(fields["access_key_id"] as? String == "AKID")
        #expect(fields["access_key_secret"] as? String == "SECRET")
        #expect(fields["security_token"] as? String == "TOKEN")
        #expect((fields["function"] as? [Any])?.count == 4)
        #expect((fields["function"] as? [Any])?.first as? String == "context")
        #expect((fields["function"] as? [Any])?[2] as? Int == 256)
        #expect(fields["service"] as? String == "tests")
        #expect(fields["region"] as? String == "cn-shanghai")
        #expect(fields["account_id"] as? String == "42")
        #expect(fields["event"] as? String == "\u{0}\u{1}\u{FF}", "the event arrives as raw bytes")
        #expect(invocation.log.text.contains("a line for the log"), "print() goes to the log, not the result")
    }

    @Test func missingHandlerIsHandlerNotFound() async throws {
        let error = try #require(await failure("no-handler"))
        #expect(error.errorType == "HandlerNotFound")
        #expect(error.errorMessage.contains("handler"))
    }

    @Test func failingImportIsImportError() async throws {
        let error = try #require(await failure("bad-import"))
        #expect(error.errorType == "ImportError")
        #expect(error.errorMessage.contains("module_that_does_not_exist"))
    }

    @Test func slowHandlerIsFunctionTimeout() async throws {
        let started = ContinuousClock.now
        let error = try #require(await failure("slow"))
        #expect(error.errorType == "FunctionTimeout")
        #expect(error.errorMessage == "Function timed out after 1.0 seconds")
        // killed, not left to sleep its 120 s (the margin is for a loaded machine: the whole suite runs at once)
        #expect(started.duration(to: .now) < .seconds(60))
    }

    @Test func memoryHogIsOutOfMemory() async throws {
        let error = try #require(await failure("hog"))
        #expect(error.errorType == "OutOfMemory")
    }

    @Test func resultOverTheCapIsOutputLimitExceeded() async throws {
        let error = try #require(await failure("big"))
        #expect(error.errorType == "OutputLimitExceeded")
    }

    @Test func calledProcessErrorKeepsCPythonsText() async throws {
        let python = try #require(await failure("crash"))
        #expect(python.errorType == "CalledProcessError")
        #expect(python.errorMessage == "Command '['sh', '-c', 'echo partial; exit 3']' returned non-zero exit status 3.")
        let swift = try #require(await failure("swift-false"))
        #expect(swift.errorType == "CalledProcessError")
        #expect(swift.errorMessage == "Command '['false']' returned non-zero exit status 1.")
    }

    @Test func swiftHandlerTimesOutAndItsCommandIsKilled() async throws {
        let started = ContinuousClock.now
        let error = try #require(await failure("swift-slow"))
        #expect(error.errorType == "FunctionTimeout")
        #expect(started.duration(to: .now) < .seconds(60), "killed, not left to sleep its 120 s")
    }

    @Test func unknownNamesAreClearErrors() async throws {
        #expect(await failure("swift-missing")?.errorType == "HandlerNotFound")
        #expect(await failure("no-such-function")?.errorType == "FunctionNotFound")
    }

    @Test func theNextInvocationWorksAfterFailures() async throws {
        _ = await failure("hog")
        _ = await failure("bad-import")
        let invocation = await runtime.invoke("context", event: Array("again".utf8))
        #expect((try? invocation.result.get()) != nil)
    }
}

@Suite struct ConfigurationTests {
    func loadError(_ name: String) -> PolicyError? {
        do { _ = try FunctionConfiguration.load(fixtures + "/" + name); return nil } catch { return error as? PolicyError }
    }

    @Test func badRuntimeNamesTheAccepted() throws {
        let error = try #require(loadError("bad-runtime.json"))
        #expect(error.path == "functions.f.runtime")
        #expect(error.line == 4)
        #expect(error.message.contains("python3"))
    }

    @Test func handlerMustBeModuleDotFunction() throws {
        let error = try #require(loadError("bad-handler.json"))
        #expect(error.path == "functions.f.handler")
        #expect(error.message.contains("module.function"))
    }

    @Test func aHandlerThatIsNotThereIsRefusedWhenTheConfigurationIsRead() throws {
        // not at every request: the file and line of the handler, and what it should be
        let folder = NSTemporaryDirectory() + "handler-check-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder + "/code", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func load(_ runtime: String, _ handler: String) -> PolicyError? {
            let file = folder + "/functions.json"
            try? """
                { "version": 1, "functions": {
                    "f": { "runtime": "\(runtime)", "handler": "\(handler)", "codeDirectory": "code" } } }
                """.write(toFile: file, atomically: true, encoding: .utf8)
            do { _ = try FunctionConfiguration.load(file); return nil } catch { return error as? PolicyError }
        }
        let python = try #require(load("python3", "index.handler"))
        #expect(python.path == "functions.f.handler" && python.line == 2 && python.message.contains("no module 'index'"), "\(python)")
        let program = try #require(load("executable", "run.sh"))
        #expect(program.path == "functions.f.handler" && program.message.contains("is not an executable file"), "\(program)")
        // present: accepted (a module file, a package, a program)
        try "def handler(e, c): return e\n".write(toFile: folder + "/code/index.py", atomically: true, encoding: .utf8)
        #expect(load("python3", "index.handler") == nil)
        try FileManager.default.createDirectory(atPath: folder + "/code/pkg", withIntermediateDirectories: true)
        try "".write(toFile: folder + "/code/pkg/__init__.py", atomically: true, encoding: .utf8)
        #expect(load("python3", "pkg.handler") == nil)
        try "#!/bin/sh\ncat\n".write(toFile: folder + "/code/run.sh", atomically: true, encoding: .utf8)
        #expect(load("executable", "run.sh")?.message.contains("is not an executable file") == true, "not executable yet")
        chmod(folder + "/code/run.sh", 0o755)
        #expect(load("executable", "run.sh") == nil)
    }

    @Test func unknownFieldIsAnError() throws {
        let error = try #require(loadError("unknown-field.json"))
        #expect(error.path == "functions.f.memmory")
        #expect(error.line == 4)
    }

    @Test func missingCodeDirectoryIsAnError() throws {
        let error = try #require(loadError("missing-code.json"))
        #expect(error.path == "functions.f.codeDirectory")
    }

    @Test func unknownPolicyIsAnError() throws {
        let error = try #require(loadError("unknown-policy.json"))
        #expect(error.message.contains("no-such-policy"))
    }

    @Test func aFunctionsGrantsAreCheckedAtLoadAndReachItsCommands() async throws {
        let folder = "/var/tmp/confine-fgrant-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/code", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/models", withIntermediateDirectories: true)
        try Data("weights\n".utf8).write(to: URL(fileURLWithPath: folder + "/models/m.txt"))
        try Data("#!/bin/sh\ncat \(folder)/models/m.txt\n".utf8).write(to: URL(fileURLWithPath: folder + "/code/handler"))
        chmod(folder + "/code/handler", 0o755)
        func configuration(_ grants: String) -> String {
            """
            {"version": 1, "credentials": {"source": "static", "accessKeyID": "AKID", "accessKeySecret": "SECRET"}, "functions": {"reader": {"handler": "handler", "runtime": "executable", "codeDirectory": "code",
              "policy": "default",
              "grants": \(grants)}}}
            """
        }
        let file = folder + "/functions.json"
        try Data(configuration(#"{"readOnly": ["models"]}"#).utf8).write(to: URL(fileURLWithPath: file))
        let loaded = try FunctionConfiguration.load(file)
        #expect(loaded.functions["reader"]?.grants == [folder + "/models": .readOnly])
        let runtime = try FunctionRuntime(configuration: loaded, registry: HandlerRegistry())
        let invocation = await runtime.invoke("reader", event: [])
        #expect(try invocation.result.get().text == "weights\n")

        // Without the grant the file is out of the view.
        try Data(configuration("{}").utf8).write(to: URL(fileURLWithPath: file))
        let bare = try FunctionRuntime(configuration: try FunctionConfiguration.load(file), registry: HandlerRegistry())
        #expect((try? await bare.invoke("reader", event: []).result.get()) == nil)

        // A system tree, and more than the policy allows, are refused at load with file, line and field.
        for (grants, field, words) in [(#"{"readOnly": ["/etc"]}"#, "functions.reader.grants.readOnly[0]", "'!/etc' refuses it"),
                                       (#"{"readWrite": ["/proc/self"]}"#, "functions.reader.grants.readWrite[0]", "refuses it"),
                                       (#"{"readOnly": ["missing"]}"#, "functions.reader.grants.readOnly[0]", "No such file or directory")] {
            try Data(configuration(grants).utf8).write(to: URL(fileURLWithPath: file))
            do {
                _ = try FunctionConfiguration.load(file)
                Issue.record("\(grants) must be refused")
            } catch let error as PolicyError {
                #expect(error.path == field && error.line == 3 && error.message.contains(words), "\(error)")
            }
        }
        try Data(configuration(#"{"readWrite": ["models"]}"#).replacingOccurrences(of: "\"default\"", with: "\"strict\"").utf8)
            .write(to: URL(fileURLWithPath: file))
        #expect(throws: PolicyError.self) { try FunctionConfiguration.load(file) }
    }

    /// Function Compute's layout (as root): the code read-only at /code, where the function
    /// starts, whatever the folders above it admit; a private writable /tmp; its files at
    /// /.confine, which it cannot change but for the error report.
    @Test func functionsSeeTheirCodeAtCodeAndAPrivateTmp() async throws {
        try #require(IsolationSupport.mountNamespaces, "as root")
        var template = Array("/tmp/fc-code-XXXXXX".utf8CString)
        let folder = try #require(mkdtemp(&template).map { String(cString: $0) })   // 0700, as mktemp -d makes it
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let planted = "/tmp/confine-planted-\(getpid())"
        try Data("host\n".utf8).write(to: URL(fileURLWithPath: planted))
        defer { try? FileManager.default.removeItem(atPath: planted) }
        for name in ["code", "code/python", "py"] {
            try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: true)
        }
        let probe = """
            #!/bin/sh
            echo "pwd=$(pwd) code=$FC_FUNC_CODE_PATH home=$HOME tmpdir=$TMPDIR"
            echo "tmp=$(ls -A /tmp | tr '\\n' ' ')"
            echo written > /tmp/out && echo "tmpwrite=$(cat /tmp/out)"
            touch /code/new 2>/dev/null && echo "codewrite=yes" || echo "codewrite=no"
            mkdir /newtop 2>/dev/null && echo "topwrite=yes" || echo "topwrite=no"
            test -e \(planted) && echo "planted=seen" || echo "planted=hidden"
            test -e \(folder)/code/handler && echo "hostpath=seen" || echo "hostpath=hidden"
            echo x > $FC_CONTEXT_FILE 2>/dev/null && echo "context=changed" || echo "context=kept"
            ln -s /etc/shadow /.confine/link 2>/dev/null && echo "scratchlink=yes" || echo "scratchlink=no"
            cp /bin/true /tmp/t && chmod 4755 /tmp/t 2>/dev/null; /tmp/t && echo "ranwritten=yes"
            """
        try Data(probe.utf8).write(to: URL(fileURLWithPath: folder + "/code/handler"))
        chmod(folder + "/code/handler", 0o755)
        // a dependency in the code's python/ folder, as FC installs them
        try Data("VALUE = 'from python/'\n".utf8).write(to: URL(fileURLWithPath: folder + "/code/python/dependency.py"))
        try Data("""
            import os, dependency
            def handler(event, context):
                open('/tmp/scratch', 'w').write('ok')
                return '%s %s %s' % (os.getcwd(), dependency.VALUE, open('/tmp/scratch').read())
            """.utf8).write(to: URL(fileURLWithPath: folder + "/code/index.py"))
        let file = folder + "/functions.json"
        try Data("""
            {"version": 1, "credentials": {"source": "static", "accessKeyID": "AKID", "accessKeySecret": "SECRET"}, "functions": {
              "probe": {"handler": "handler", "runtime": "executable", "codeDirectory": "code", "policy": "default"},
              "python": {"handler": "index.handler", "runtime": "python3", "codeDirectory": "code"},
              "viewless": {"handler": "pwd.sh", "runtime": "executable", "codeDirectory": "code", "policy": "\(folder)/viewless.json"}}}
            """.utf8).write(to: URL(fileURLWithPath: file))
        // a policy with no filesystem view (Landlock's scopes alone) still gets the layout
        try Data(#"{"version": 1, "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}, "rlimits": {"cpu": 5}, "timeout": "10s", "isolation": {"network": "none"}}"#.utf8)
            .write(to: URL(fileURLWithPath: folder + "/viewless.json"))
        try Data("#!/bin/sh\npwd\n".utf8).write(to: URL(fileURLWithPath: folder + "/code/pwd.sh"))
        chmod(folder + "/code/pwd.sh", 0o755)
        let runtime = try FunctionRuntime(configuration: try FunctionConfiguration.load(file), registry: HandlerRegistry())
        let viewless = await runtime.invoke("viewless", event: [])
        #expect(try viewless.result.get().text == "/code\n", "\(viewless.result) \(viewless.log.text)")
        let invocation = await runtime.invoke("probe", event: [])
        let lines = Set(try invocation.result.get().text.split(separator: "\n").map(String.init))
        let expected: Set = ["pwd=/code code=/code home=/tmp tmpdir=/tmp", "tmp=", "tmpwrite=written", "codewrite=no", "topwrite=no",
                             "planted=hidden", "hostpath=hidden", "context=kept", "scratchlink=no", "ranwritten=yes"]
        #expect(lines == expected, "\(lines.symmetricDifference(expected)) \(invocation.log.text)")
        // what it wrote stayed in its own /tmp
        #expect(!FileManager.default.fileExists(atPath: "/tmp/out"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/code").sorted() == ["handler", "index.py", "pwd.sh", "python"])
        let python = await runtime.invoke("python", event: [])
        #expect(try python.result.get().text == "/code from python/ ok", "\(python.log.text)")
        // The invocation's files (the credentials) live where only root reaches them by their host path.
        var parent = stat()
        #expect(lstat("/run/confine-fc", &parent) == 0 && parent.st_uid == 0 && parent.st_mode & 0o777 == 0o700)
        // An error report the runtime cannot take (10 MB of zeros) is named as such, read no further than 64 KiB.
        try Data("#!/bin/sh\ntruncate -s 10M \"$FC_ERROR_FILE\"\n".utf8).write(to: URL(fileURLWithPath: folder + "/code/handler"))
        guard case .failure(let error) = await runtime.invoke("probe", event: []).result else { Issue.record("expected an error"); return }
        #expect(error.errorType == "InvalidErrorReport", "\(error)")
        // A configuration inside the code it shows is refused when it is read.
        try Data(#"{"version": 1, "functions": {"f": {"handler": "handler", "runtime": "executable", "codeDirectory": "."}}}"#.utf8)
            .write(to: URL(fileURLWithPath: folder + "/code/inside.json"))
        #expect(throws: PolicyError.self) { try FunctionConfiguration.load(folder + "/code/inside.json") }
    }

    @Test func environmentCredentials() throws {
        let configuration = try FunctionConfiguration.load(fixtures + "/bad-handler.json".replacingOccurrences(of: "bad-handler", with: "functions"))
        #expect(try configuration.currentCredentials().accessKeyID == "AKID")
    }
}
