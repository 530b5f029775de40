"""A handler module that fails while it loads: the runtime client reports init/error."""
raise RuntimeError("cannot connect to the database at start-up")


def handler(event, context):
    return {"statusCode": 200}
