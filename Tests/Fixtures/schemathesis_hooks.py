"""Schemathesis hooks for `confine serve`: sign every generated request with ACS3-HMAC-SHA256.

Load with `SCHEMATHESIS_HOOKS=Tests/Fixtures/schemathesis_hooks.py schemathesis run ...` and set
CONFINE_TEST_KEY_ID / CONFINE_TEST_KEY_SECRET (scripts/fuzz.sh does all of that).

The signature has to cover the request exactly as it goes out: the serialized body bytes, the
path and query as encoded on the wire, the Host header. Schemathesis' auth providers and its
`before_call` hook see the *case* (a Python object, before serialization), so signing there
would hash the wrong body. Instead this registers a `requests` auth object through
`schemathesis.auth.set_from_requests`: `requests` calls it on the PreparedRequest after the URL
and the body are final, which is where ACS3Auth computes the signature. Being an explicit auth,
Schemathesis also uses it for its `ignored_auth` check: its probes go out without it (unsigned)
and must be refused.

Stdlib only (the `requests` auth base class comes with schemathesis). Run the file directly to
send one signed request by hand (for reproductions):

    CONFINE_TEST_KEY_ID=... CONFINE_TEST_KEY_SECRET=... \\
      python3 Tests/Fixtures/schemathesis_hooks.py POST http://127.0.0.1:9921/v1/exec \\
      -H 'Content-Type: application/json' -d '{"argv":["/bin/true"]}'
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import unicodedata
import uuid
from urllib.parse import urlsplit

ALGORITHM = "ACS3-HMAC-SHA256"
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


# ----------------------------------------------------------------------------- the algorithm
def rfc3986(text: str) -> str:
    """Percent-encodes every UTF-8 byte but A-Z a-z 0-9 - _ . ~ (uppercase hex)."""
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def form_decode(component: str) -> str:
    """Decodes a raw query component: '+' is a space, %XX a byte; a malformed escape stays as it is."""
    raw = component.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x2B:  # '+'
            out.append(0x20)
        elif byte == 0x25 and _is_hex(raw[i + 1:i + 3]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 2
        else:
            out.append(byte)
        i += 1
    return out.decode("utf-8", "replace")


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair)


def canonical_query(raw_query: str) -> str:
    """Every name=value pair decoded, re-encoded per RFC 3986, sorted by name then value."""
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        name, sep, value = item.partition("=")
        pairs.append((rfc3986(form_decode(name)), rfc3986(form_decode(value)) if sep else ""))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def trim(value: str) -> str:
    """Strips leading and trailing tabs and space separators (Unicode Zs), no other characters."""
    def blank(ch: str) -> bool:
        return ch == "\t" or unicodedata.category(ch) == "Zs"
    start, end = 0, len(value)
    while start < end and blank(value[start]):
        start += 1
    while end > start and blank(value[end - 1]):
        end -= 1
    return value[start:end]


def canonical_request(method: str, path: str, raw_query: str, headers: dict[str, list[str]],
                      signed: list[str], payload_hash: str) -> str:
    lines = [method, path or "/", canonical_query(raw_query)]
    text = "\n".join(lines) + "\n"
    for name in signed:
        text += f"{name}:{','.join(trim(v) for v in headers.get(name, []))}\n"
    return text + "\n" + ";".join(signed) + "\n" + payload_hash


def signature(secret: str, canonical: str) -> str:
    string_to_sign = ALGORITHM + "\n" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def wire_text(value: str | bytes) -> str:
    """A header value as the server reads it: the bytes http.client sends (latin-1), read as UTF-8."""
    raw = value if isinstance(value, bytes) else value.encode("latin-1", "replace")
    return raw.decode("utf-8", "replace")


def sign_request(method: str, url: str, headers, body: bytes, key_id: str, secret: str,
                 now: datetime.datetime | None = None, nonce: str | None = None) -> dict[str, str]:
    """Returns the headers to set on a request (Host, x-acs-*, Authorization) so that it is signed.

    `url` is the full URL as sent (path and query already encoded); `headers` the request's other
    headers (any mapping). Signed: host, content-type, every x-acs-* and x-fc-* header.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    added = {
        "host": host,
        "x-acs-date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    collected: dict[str, list[str]] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in added or lower == "authorization":
            continue
        collected.setdefault(lower, []).append(wire_text(value))
    for name, value in added.items():
        collected[name] = [value]
    signed = sorted(n for n in collected if n in ("host", "content-type") or n.startswith(("x-acs-", "x-fc-")))
    canonical = canonical_request(method.upper(), parts.path, parts.query, collected, signed, added["x-acs-content-sha256"])
    result = {"Host": host, **{k: v for k, v in added.items() if k != "host"}}
    result["Authorization"] = (f"{ALGORITHM} Credential={key_id},SignedHeaders={';'.join(signed)},"
                               f"Signature={signature(secret, canonical)}")
    return result


def body_bytes(body) -> bytes:
    """A PreparedRequest's body as bytes (ACS3Auth then sends exactly these bytes)."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return body.read()
    return b"".join(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8") for chunk in body)


def credentials() -> tuple[str, str]:
    try:
        return os.environ["CONFINE_TEST_KEY_ID"], os.environ["CONFINE_TEST_KEY_SECRET"]
    except KeyError as missing:
        raise RuntimeError(f"set {missing.args[0]} (the access key to sign the fuzzer's requests with)") from None


# ----------------------------------------------------------------------------- schemathesis
try:
    import requests.auth
    import schemathesis
except ImportError:  # used standalone, as a signing client
    schemathesis = None

if schemathesis is not None:
    class ACS3Auth(requests.auth.AuthBase):
        """Signs a prepared request: runs after `requests` has serialized the body and the URL."""

        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            key_id, secret = credentials()
            body = body_bytes(request.body)
            if not isinstance(request.body, (bytes, type(None))):
                # Pin the exact bytes that were hashed (a str, a file or a generator becomes bytes).
                request.body = body
                request.headers["Content-Length"] = str(len(body))
                request.headers.pop("Transfer-Encoding", None)
            request.headers.update(sign_request(request.method, request.url, request.headers, body, key_id, secret))
            return request

    schemathesis.auth.set_from_requests(ACS3Auth())

    @schemathesis.hook
    def filter_case(context, case) -> bool:
        """Leaves out the requests whose validity OpenAPI 3.0 cannot describe, so the fuzzer does not
        count them as valid (or invalid) by mistake:

        - InvokeFunction with `x-fc-async-task-id` but not `x-fc-invocation-type: Async`: the
          server ignores the task id of a Sync invocation, whatever it is (the header's pattern
          holds for Async only: a parameter dependency).
        - /v1/exec bodies whose `env` has a name that is empty or holds '=' or NUL: the server
          refuses those (400), but 3.0 has no `propertyNames` to say so.
        """
        label = case.operation.label
        if label == "POST /2023-03-30/functions/{name}/invocations":
            headers = {k.lower(): v for k, v in (case.headers or {}).items()}
            if "x-fc-async-task-id" in headers and headers.get("x-fc-invocation-type") != "Async":
                return False
        elif label in ("POST /v1/exec", "POST /v1/exec/stream"):
            body = case.body
            if isinstance(body, dict) and isinstance(body.get("env"), dict):
                if any(not name or "=" in name or "\x00" in name for name in body["env"]):
                    return False
        return True


# ----------------------------------------------------------------------------- by hand
def _main(argv: list[str]) -> int:
    import argparse
    import http.client
    import sys

    parser = argparse.ArgumentParser(description="Send one ACS3-signed request and print the answer.")
    parser.add_argument("method")
    parser.add_argument("url")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("-d", "--data", help="the body; @FILE reads a file")
    args = parser.parse_args(argv)
    body = b""
    if args.data is not None:
        body = open(args.data[1:], "rb").read() if args.data.startswith("@") else args.data.encode("utf-8")
    headers = {}
    for item in args.header:
        name, _, value = item.partition(":")
        headers[name.strip()] = value.strip()
    key_id, secret = credentials()
    headers.update(sign_request(args.method, args.url, headers, body, key_id, secret))
    parts = urlsplit(args.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.putrequest(args.method, target or "/", skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    if body or args.method.upper() in ("POST", "PUT", "PATCH"):
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    print(response.status, response.reason)
    for name, value in response.getheaders():
        print(f"{name}: {value}")
    print()
    sys.stdout.buffer.write(response.read())
    print()
    return 0


if __name__ == "__main__":
    import sys
    try:
        sys.exit(_main(sys.argv[1:]))
    except BrokenPipeError:  # `| head`
        sys.exit(0)
