"""A local OSS-compatible endpoint for the object-storage example: path-style PUT /bucket/object
and GET of what was stored, each request's signature checked as OSS checks V1 signatures:
Authorization: OSS <AccessKeyId>:base64(HMAC-SHA1(secret, VERB\\nContent-MD5\\nContent-Type\\nDate\\n
<x-oss-* headers, lower-cased, sorted, "k:v\\n">/bucket/object)), with x-oss-security-token required
when the test says so. Usage: python3 oss_server.py KEY_ID SECRET TOKEN; prints the port, serves
until stdin closes."""
import base64, hashlib, hmac, http.server, sys, threading

KEY_ID, SECRET, TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
objects = {}


def expected_signature(handler, verb):
    oss_headers = sorted((k.lower(), v.strip()) for k, v in handler.headers.items() if k.lower().startswith("x-oss-"))
    canonical = "".join("%s:%s\n" % kv for kv in oss_headers)
    to_sign = "\n".join([verb, handler.headers.get("Content-MD5", ""), handler.headers.get("Content-Type", ""),
                         handler.headers.get("Date", "")]) + "\n" + canonical + handler.path.split("?")[0]
    return base64.b64encode(hmac.new(SECRET.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def refuse(self, code, message):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s</Message>"
                "<RequestId>local</RequestId></Error>" % (code, message)).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-oss-request-id", "local")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self, verb):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("OSS ") or ":" not in auth:
            self.refuse("AccessDenied", "no OSS signature")
            return False
        key_id, signature = auth[4:].split(":", 1)
        if key_id != KEY_ID:
            self.refuse("InvalidAccessKeyId", "unknown key id")
            return False
        if self.headers.get("x-oss-security-token") != TOKEN:
            self.refuse("InvalidSecurityToken", "missing or wrong x-oss-security-token")
            return False
        if not hmac.compare_digest(signature, expected_signature(self, verb)):
            self.refuse("SignatureDoesNotMatch", "the signature does not match")
            return False
        return True

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if not self.authorized("PUT"):
            return
        objects[self.path] = body
        self.send_response(200)
        self.send_header("ETag", '"%s"' % hashlib.md5(body).hexdigest().upper())
        self.send_header("x-oss-request-id", "local")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        if self.path.startswith("/_stored"):
            key = self.path[len("/_stored"):]
            body = objects.get(key)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")
            return
        self.refuse("AccessDenied", "only PUT is served")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
