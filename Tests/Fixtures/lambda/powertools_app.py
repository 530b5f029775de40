"""A handler written with aws-lambda-powertools' APIGatewayHttpResolver."""
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


@app.get("/pt/hello/<name>")
def hello(name):
    return {"hello": name, "query": app.current_event.get_query_string_value("lang", "en")}


@app.post("/pt/orders")
def create_order():
    order = app.current_event.json_body
    return {"created": order["item"], "quantity": order.get("quantity", 1)}, 201


def handler(event, context):
    return app.resolve(event, context)
