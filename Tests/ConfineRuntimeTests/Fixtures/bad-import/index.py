import module_that_does_not_exist


def handler(event, context):
    return "unreachable"
