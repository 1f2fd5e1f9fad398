def handler(event, context):
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))
