"""A plain Lambda handler (payload 2.0) for the gateway's worker tests: the path picks what it does."""
import base64
import json
import os
import sys
import time


def handler(event, context):
    path = event.get("rawPath", "")
    print(f"plain handling {path}")
    if path.endswith("/fail"):
        raise ValueError("boom")
    if path.endswith("/sleep"):
        time.sleep(30)
    if path.endswith("/crash"):
        sys.stdout.flush()
        os._exit(3)
    if path.endswith("/slow"):
        time.sleep(0.3)
    if path.endswith("/env"):
        return {"env": dict(os.environ), "cwd": os.getcwd(), "pid": os.getpid()}
    if path.endswith("/binary"):
        data = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else (event.get("body") or "").encode()
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "body": base64.b64encode(bytes(reversed(data))).decode(), "isBase64Encoded": True}
    if path.endswith("/cookies"):
        return {"statusCode": 201, "cookies": ["a=1; Path=/", "b=2; HttpOnly"], "body": "with cookies",
                "headers": {"content-type": "text/plain", "x-handler": "plain"}}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"event": event, "pid": os.getpid(), "requestId": context.aws_request_id,
                            "function": context.function_name, "remainingMs": context.get_remaining_time_in_millis()}),
    }
