#!/usr/bin/env python3
"""The fleet, for real: three `confine-server serve` nodes on loopback sharing one PostgreSQL.

  fleet_test.py BINDIR PGDIR        (PGDIR: a cluster started by scripts/postgres.sh start PGDIR)

Checks, each failure printed with what was seen (exit 1 if any):
  1. the official Function Compute SDK (Tests/Fixtures/fc_client.py) invokes through each node;
  2. a signed request accepted by node A and replayed to nodes B and C is refused by both;
  3. 200 asynchronous invocations spread over the nodes while one node is killed with SIGKILL:
     every task answered 202 ends Succeeded with its own result, each run recorded once, and
     the audit log holds a record of every request;
  4. with the database stopped a node answers 503 StoreUnavailable with a clear message, and it
     serves again once the database is back;
  5. SIGTERM stops the surviving nodes cleanly (exit 0).
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN, PGDIR = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
URL = open(os.path.join(PGDIR, "url")).read().strip()
KEY, SECRET = "LTAI5tExampleKeyId", "example-access-key-secret"
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, flush=True)
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(method, path, body, headers, nonce=None):
    """ACS3-HMAC-SHA256, as the official SDKs sign."""
    all_headers = {k.lower(): v for k, v in headers.items()}
    all_headers["x-acs-date"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    all_headers["x-acs-signature-nonce"] = nonce or uuid.uuid4().hex
    all_headers["x-acs-content-sha256"] = hashlib.sha256(body).hexdigest()
    signed = sorted(k for k in all_headers if k in ("host", "content-type") or k.startswith("x-acs-"))
    canonical = "%s\n%s\n\n" % (method, path) + "".join("%s:%s\n" % (k, all_headers[k].strip()) for k in signed)
    canonical += "\n%s\n%s" % (";".join(signed), all_headers["x-acs-content-sha256"])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    all_headers["authorization"] = "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s" % (KEY, ";".join(signed), signature)
    return all_headers


def request(port, method, path, body=b"", headers=None, signed_headers=None, timeout=30):
    """(status, headers, body) of one request; signed unless `signed_headers` are given as they are."""
    headers = dict(headers or {})
    headers.setdefault("content-type", "application/json")
    headers["host"] = "127.0.0.1:%d" % port
    final = signed_headers or sign(method, path, body, headers)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=final)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


class Node:
    def __init__(self, config, name, work):
        self.port = free_port()
        self.name = name
        self.log = open(os.path.join(work, name + ".log"), "wb")
        self.process = subprocess.Popen([os.path.join(BIN, "confine-server"), "serve", "--config", config, "--port", str(self.port),
                                         "--log-level", "warning"], stdout=self.log, stderr=subprocess.STDOUT, cwd=work)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _, _ = request(self.port, "GET", "/healthz", signed_headers={"host": "x"}, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise SystemExit("node %s did not start: %s" % (name, open(self.log.name).read()[-2000:]))


def records():
    out = subprocess.run([os.path.join(BIN, "confine-server"), "log", "--database", URL, "--json", "--limit", "100000"],
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, "confine log --database URL failed: %s" % out.stderr.strip())
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def main():
    work = tempfile.mkdtemp(prefix="confine-fleet-", dir="/var/tmp")
    config = os.path.join(work, "service.json")
    with open(os.path.join(ROOT, "examples", "service.json")) as handle:
        service = json.load(handle)
    service["functions"] = os.path.join(ROOT, "examples", "functions.json")
    service["auditLog"] = URL
    service["limits"].update({"asyncLease": "3s", "grace": "2s"})
    with open(config, "w") as handle:
        json.dump(service, handle)
    os.chmod(config, 0o600)
    nodes = [Node(config, name, work) for name in ("a", "b", "c")]
    print("fleet: three nodes on ports %s sharing %s" % ([n.port for n in nodes], URL.split("@")[-1]), flush=True)
    request_ids = []
    try:
        # 1. the official SDK through each node
        sdk_env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".build-python"))
        for node in nodes:
            body = os.path.join(work, "event-%s.json" % node.name)
            with open(body, "w") as handle:
                json.dump({"key": "via " + node.name}, handle)
            out = subprocess.run([sys.executable, os.path.join(ROOT, "Tests", "Fixtures", "fc_client.py"), "--endpoint", "127.0.0.1:%d" % node.port,
                                  "--key-id", KEY, "--secret", SECRET, "--function", "json-key", "--body-file", body, "--protocol", "http"],
                                 capture_output=True, text=True, env=sdk_env, timeout=120)
            answer = json.loads(out.stdout or "{}")
            check(answer.get("status") == 200 and base64.b64decode(answer.get("body_base64", "")) == ("via " + node.name).encode(),
                  "the official SDK through node %s: %s %s" % (node.name, answer, out.stderr[-500:]))
            request_ids.append(answer.get("headers", {}).get("x-fc-request-id"))
        # 2. a request node A accepted is a replay to B and C
        body = json.dumps({"argv": ["true"]}).encode()
        headers = {"content-type": "application/json", "host": "127.0.0.1:%d" % nodes[0].port}
        replayed = sign("POST", "/v1/exec", body, headers)
        status, answer_headers, _ = request(nodes[0].port, "POST", "/v1/exec", body, signed_headers=replayed)
        check(status == 200, "node a refused a fresh signed request: %d" % status)
        request_ids.append(answer_headers.get("x-fc-request-id"))
        for node in nodes[1:]:
            # the Host header is signed: a replay to another node keeps A's, as a captured request would
            status, _, answer = request(node.port, "POST", "/v1/exec", body, signed_headers=dict(replayed))
            check(status == 403 and json.loads(answer or b"{}").get("Code") == "SignatureNonceUsed",
                  "node %s accepted node a's request replayed: %d %s" % (node.name, status, answer[:300]))
        # 3. 200 asynchronous invocations, one node killed with SIGKILL half-way
        accepted, alive, killed = {}, list(nodes), None
        for i in range(200):
            if i == 100:
                killed = alive.pop(1)
                killed.process.send_signal(signal.SIGKILL)
                killed.process.wait()
                print("fleet: node %s killed with SIGKILL after 100 invocations" % killed.name, flush=True)
            node = alive[i % len(alive)]
            task = "fleet-%d-%s" % (i, uuid.uuid4().hex[:6])
            status, answer_headers, answer = request(node.port, "POST", "/2023-03-30/functions/json-key/invocations",
                                                     json.dumps({"key": i}).encode(),
                                                     {"x-fc-invocation-type": "Async", "x-fc-async-task-id": task})
            if check(status == 202, "async invocation %d on node %s: %d %s" % (i, node.name, status, answer[:200])):
                accepted[task] = i
                request_ids.append(answer_headers.get("x-fc-request-id"))
        deadline, pending = time.time() + 180, dict(accepted)
        while pending and time.time() < deadline:
            for task, i in list(pending.items()):
                status, _, answer = request(alive[0].port, "GET", "/2023-03-30/functions/json-key/async-tasks/%s" % task)
                state = json.loads(answer or b"{}") if status == 200 else {}
                if state.get("status") == "Succeeded":
                    check(state.get("returnPayload") == str(i), "task %s's result is %r, not %r" % (task, state.get("returnPayload"), str(i)))
                    del pending[task]
                elif state.get("status") == "Failed":
                    check(False, "task %s failed: %s" % (task, state))
                    del pending[task]
            if pending:
                time.sleep(0.5)
        check(not pending, "%d of %d tasks did not end Succeeded within 180 s (e.g. %s)" % (len(pending), len(accepted), list(pending)[:3]))
        logged = records()
        runs = {}
        for record in logged:
            if record.get("kind") == "async-run":
                runs[record["requestID"]] = runs.get(record["requestID"], 0) + 1
        written_twice = [task for task, count in runs.items() if count != 1]
        check(not written_twice, "tasks whose run was recorded more than once: %s" % written_twice[:5])
        check(set(accepted) <= set(runs), "tasks without a recorded run: %s" % sorted(set(accepted) - set(runs))[:5])
        seen = {record.get("requestID") for record in logged}
        missing = [rid for rid in request_ids if rid not in seen]
        check(not missing, "requests answered without an audit record: %s" % missing[:5])
        print("fleet: %d tasks accepted, all Succeeded, each run recorded once; %d records in the audit log" % (len(accepted), len(logged)), flush=True)
        # 4. the database goes away, then comes back
        subprocess.run([os.path.join(ROOT, "scripts", "postgres.sh"), "kill", PGDIR], check=True, capture_output=True)
        started = time.time()
        status, _, answer = request(alive[0].port, "POST", "/v1/exec", json.dumps({"argv": ["true"]}).encode(), timeout=30)
        error = json.loads(answer or b"{}")
        check(status == 503 and error.get("Code") == "StoreUnavailable" and "PostgreSQL" in error.get("Message", "")
              and "confine-test" not in error.get("Message", ""),
              "with the database down: %d %s" % (status, answer[:400]))
        print("fleet: database down -> %d %s (%.1f s): %s" % (status, error.get("Code"), time.time() - started, error.get("Message")), flush=True)
        subprocess.run([os.path.join(ROOT, "scripts", "postgres.sh"), "restart", PGDIR], check=True, capture_output=True)
        deadline, recovered = time.time() + 60, False
        while time.time() < deadline and not recovered:
            status, _, _ = request(alive[0].port, "POST", "/v1/exec", json.dumps({"argv": ["true"]}).encode(), timeout=30)
            recovered = status == 200
            if not recovered:
                time.sleep(0.5)
        check(recovered, "the node did not serve again after the database came back (last status %d)" % status)
        # 5. a clean stop
        for node in alive:
            node.process.send_signal(signal.SIGTERM)
        for node in alive:
            try:
                code = node.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                node.process.kill()
                code = "still running after 30 s"
            check(code == 0, "node %s did not stop cleanly on SIGTERM: %s" % (node.name, code))
    finally:
        for node in nodes:
            if node.process.poll() is None:
                node.process.kill()
                node.process.wait()
    if failures:
        for node in nodes:
            print("--- node %s log (tail)\n%s" % (node.name, open(node.log.name, errors="replace").read()[-1500:]))
        print("fleet: %d failure(s)" % len(failures))
        sys.exit(1)
    subprocess.run(["rm", "-rf", work])
    print("fleet: the official SDK through every node, replays refused across nodes, 200 async invocations survive a SIGKILLed node, 503 while the database is down and recovery after")


if __name__ == "__main__":
    main()
