/// The bootstrap that runs a Function Compute style Python handler unchanged: it imports the
/// module the handler string names, calls `handler(event, context)` with a context whose
/// attributes are Function Compute's, and returns str/bytes/dict results as FC does.
/// Written into each invocation's private directory and run under the function's policy.
enum PythonBootstrap {
    static let source = #"""
import json, os, sys, traceback, importlib, logging

ERROR_EXIT = 86
context_data = json.load(open(os.environ["FC_CONTEXT_FILE"]))
error_path = os.environ["FC_ERROR_FILE"]

# The result goes to the real stdout; print() and child processes write to the log (stderr).
result_out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
sys.stdout = os.fdopen(1, "w", buffering=1)

def fail(error_type, message, tb=None):
    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__] if tb is not None else []
    trace = traceback.format_list(frames)
    with open(error_path, "w") as f:
        json.dump({"errorMessage": message, "errorType": error_type, "stackTrace": trace}, f)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(ERROR_EXIT)

class Attributes:
    def __init__(self, **fields):
        self.__dict__.update(fields)
    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in sorted(self.__dict__.items()) if "secret" not in kv[0] and "token" not in kv[0]))

class Credentials(Attributes):
    pass

class FunctionMeta(Attributes):
    pass

class ServiceMeta(Attributes):
    pass

class Context(Attributes):
    pass

c = context_data
logger = logging.getLogger("fc")
if not logger.handlers:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s " + c["requestId"] + " [%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
context = Context(
    request_id=c["requestId"],
    credentials=Credentials(access_key_id=c["credentials"]["accessKeyId"],
                            access_key_secret=c["credentials"]["accessKeySecret"],
                            security_token=c["credentials"]["securityToken"]),
    function=FunctionMeta(name=c["function"]["name"], handler=c["function"]["handler"],
                          memory=c["function"]["memory"], timeout=c["function"]["timeout"]),
    service=ServiceMeta(name=c["service"]["name"], log_project="", log_store="", qualifier="LATEST", version_id=""),
    region=c["region"],
    account_id=c["accountId"],
    logger=logger,
)

module_name, _, function_name = os.environ["FC_HANDLER"].rpartition(".")
code_dir = os.environ["FC_CODE_DIR"]
sys.path.insert(0, code_dir)
# Function Compute's convention: dependencies installed into the code's python/ folder.
if os.path.isdir(os.path.join(code_dir, "python")):
    sys.path.insert(1, os.path.join(code_dir, "python"))
os.chdir(code_dir)
try:
    module = importlib.import_module(module_name)
except MemoryError:
    fail("OutOfMemory", "out of memory while importing %r" % module_name, sys.exc_info()[2])
except BaseException as e:
    fail("ImportError", "Unable to import module '%s': %s" % (module_name, e), sys.exc_info()[2])
handler = getattr(module, function_name, None)
if not callable(handler):
    fail("HandlerNotFound", "Handler '%s' is missing on module '%s'" % (function_name, module_name))

event = sys.stdin.buffer.read()
try:
    result = handler(event, context)
except MemoryError:
    fail("OutOfMemory", "the function ran out of memory (%s MB)" % c["function"]["memory"], sys.exc_info()[2])
except SystemExit as e:
    fail("SystemExit", "the handler called exit(%r)" % (e.code,), sys.exc_info()[2])
except BaseException as e:
    fail(type(e).__name__, str(e), sys.exc_info()[2])

if result is None:
    data = b""
elif isinstance(result, (bytes, bytearray)):
    data = bytes(result)
elif isinstance(result, str):
    data = result.encode("utf-8")
elif isinstance(result, (dict, list, int, float, bool)):
    data = json.dumps(result).encode("utf-8")
else:
    data = str(result).encode("utf-8")
result_out.write(data)
result_out.flush()
sys.stdout.flush()
"""#
}
