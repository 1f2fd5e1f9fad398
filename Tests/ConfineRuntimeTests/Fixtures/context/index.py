import json


def handler(event, context):
    print("a line for the log")
    return {
        "request_id": context.request_id,
        "access_key_id": context.credentials.access_key_id,
        "access_key_secret": context.credentials.access_key_secret,
        "security_token": context.credentials.security_token,
        "function": [context.function.name, context.function.handler, context.function.memory, context.function.timeout],
        "service": context.service.name,
        "region": context.region,
        "account_id": context.account_id,
        "event": event.decode("latin-1"),
    }
