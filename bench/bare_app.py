"""The baseline: bare FastAPI JSON endpoints, served the same way as contactlog (one worker)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare-async")
async def bare_async() -> dict[str, bool]:
    return {"ok": True}


@app.post("/bare-sync")
def bare_sync(body: dict[str, object]) -> dict[str, bool]:
    # A `def` endpoint with a JSON body: FastAPI's thread pool, as contactlog's endpoints use.
    return {"ok": bool(body)}
