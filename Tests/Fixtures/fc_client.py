#!/usr/bin/env python3
"""Invoke a function through the OFFICIAL Alibaba Cloud FC 3.0 Python SDK.

Install (tested with exactly these):
  pip install alibabacloud_fc20230330==4.8.3 alibabacloud_tea_openapi==0.4.6 \
      darabonba-core==1.0.9 alibabacloud-credentials==1.0.12

Usage:
  fc_client.py --endpoint 127.0.0.1:PORT --key-id AK --secret SK [--token STS]
               --function NAME [--async] [--tail] [--qualifier Q]
               [--body-file F | --no-body] [--get-function] [--protocol http]
               [--task-id ID] [--timeout-ms N]

Prints exactly one JSON line on stdout:
  success: {"status": int, "headers": {lowercased: str}, "body_base64": str}
           (with --get-function: {"status", "headers", "body": <parsed JSON>})
  SDK raised: {"error": {"code", "message", "status", "request_id", "type",
                         "retry_after", "data"}}
           Note: the SDK formats message as
           "code: <status>, <server Message> request id: <server RequestId>";
           the server's raw Message is in error.data.Message.
Exit status: 0 in both cases (the JSON says which); 2 for usage errors.
"""
import argparse
import base64
import json
import sys

from alibabacloud_fc20230330 import models as fc_models
from alibabacloud_fc20230330.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_models
from darabonba.runtime import RuntimeOptions


def build_client(a):
    cfg = open_api_models.Config(
        access_key_id=a.key_id,
        access_key_secret=a.secret,
        security_token=a.token,     # None/'' -> plain AccessKey, else STS
        endpoint=a.endpoint,        # "127.0.0.1:PORT" (no scheme!)
        protocol=a.protocol,        # must be "http" for a plain-HTTP server
        read_timeout=a.timeout_ms,
        connect_timeout=a.timeout_ms,
    )
    return Client(cfg)


def err_json(e):
    # AlibabaCloudException family: ClientException (4xx), ServerException
    # (5xx), ThrottlingException (any 4xx/5xx carrying x-acs-retry-after).
    status = getattr(e, "status_code", None)
    if status is None:
        data = getattr(e, "data", None)
        if isinstance(data, dict):
            status = data.get("statusCode")
    code = getattr(e, "code", None)
    msg = getattr(e, "message", None)
    if msg is None:
        inner = getattr(e, "inner_exception", None)
        msg = str(inner if inner is not None else e)
    if code is None:
        code = getattr(e, "name", None) or type(e).__name__
    data = getattr(e, "data", None)
    return {"error": {
        "code": None if code is None else str(code),
        "message": None if msg is None else str(msg),
        "status": status,
        "request_id": getattr(e, "request_id", None),
        "type": type(e).__name__,                      # ClientException / ServerException / ThrottlingException / UnretryableException
        "retry_after": getattr(e, "retry_after", None),  # set for ThrottlingException (from x-acs-retry-after)
        "data": data if isinstance(data, dict) else None,  # parsed error body (+ statusCode added by the SDK)
    }}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--key-id", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--token", default=None)
    p.add_argument("--function", required=True)
    p.add_argument("--async", dest="is_async", action="store_true")
    p.add_argument("--tail", action="store_true")
    p.add_argument("--qualifier", default=None)
    p.add_argument("--task-id", default=None)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--body-file", default=None, help="file with the request body ('-' = stdin)")
    g.add_argument("--no-body", action="store_true")
    p.add_argument("--get-function", action="store_true", help="call GetFunction instead")
    p.add_argument("--protocol", default="http")
    p.add_argument("--timeout-ms", type=int, default=30000)
    a = p.parse_args(argv)

    try:
        client = build_client(a)
        runtime = RuntimeOptions()
        if a.get_function:
            r = client.get_function_with_options(
                a.function, fc_models.GetFunctionRequest(qualifier=a.qualifier), {}, runtime)
            out = {"status": r.status_code,
                   "headers": {k.lower(): v for k, v in (r.headers or {}).items()},
                   "body": r.body.to_map() if r.body is not None else None}
        else:
            body = None
            if a.body_file is not None:
                body = sys.stdin.buffer.read() if a.body_file == "-" else open(a.body_file, "rb").read()
            elif not a.no_body:
                body = b""
            headers = fc_models.InvokeFunctionHeaders(
                x_fc_invocation_type="Async" if a.is_async else "Sync",
                x_fc_log_type="Tail" if a.tail else None,
                x_fc_async_task_id=a.task_id,
            )
            req = fc_models.InvokeFunctionRequest(body=body, qualifier=a.qualifier)
            r = client.invoke_function_with_options(a.function, req, headers, runtime)
            data = r.body.read() if r.body is not None else b""
            out = {"status": r.status_code,
                   "headers": {k.lower(): v for k, v in (r.headers or {}).items()},
                   "body_base64": base64.b64encode(data).decode()}
    except Exception as e:  # the SDK's exceptions, connection errors, ...
        out = err_json(e)
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
