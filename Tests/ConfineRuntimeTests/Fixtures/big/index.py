def handler(event, context):
    return b"x" * (2 << 20)
