"""A FastAPI app behind Mangum, the ASGI adapter for Lambda."""
from fastapi import FastAPI, Header
from mangum import Mangum

app = FastAPI()


@app.get("/fa/items/{item_id}")
def read_item(item_id: int, q: str | None = None, x_agent: str | None = Header(default=None)):
    return {"item_id": item_id, "q": q, "agent": x_agent}


handler = Mangum(app, lifespan="off")
