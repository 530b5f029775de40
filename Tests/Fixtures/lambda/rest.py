"""A REST API (payload 1.0) proxy handler: echoes what 1.0 carries and answers with multiValueHeaders."""
import json


def handler(event, context):
    return {
        "statusCode": 202,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"x-multi": ["one", "two"]},
        "body": json.dumps({k: event.get(k) for k in (
            "version", "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
            "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext", "body",
            "isBase64Encoded")}),
        "isBase64Encoded": False,
    }
