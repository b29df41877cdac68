# The Full Example dashboard inside a FastAPI application: the host's own page at "/" embeds the
# dashboard, pywry is mounted at /pywry (any prefix works, and so does a proxy that sets
# X-Forwarded-Prefix when PYWRY_SERVER__TRUST_FORWARDED_PREFIX=true). WebSockets are used.
#
# Needs: pip install 'pywry-server[fastapi,plotly,pandas]'
# Run:  python examples/fastapi_mount.py      (or: uvicorn --app-dir examples fastapi_mount:app)
import os

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sales_dashboard import widget  # the dashboard: examples/sales_dashboard.py

from pywry.adapters.fastapi import asgi_app, embed

app = FastAPI(title="Acme sales")
app.mount("/pywry", asgi_app())


@app.get("/", response_class=HTMLResponse)
async def home():
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme sales (FastAPI)</title>
<style>body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1rem}}</style>
</head><body>
<header><h1 id="host-title">Acme sales</h1>
<p>A FastAPI page; the dashboard is a pywry widget.</p></header>
{embed(widget, height="560px")}
</body></html>"""


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("PYWRY_SERVER__HOST", "127.0.0.1"),
        port=int(os.environ.get("PYWRY_SERVER__PORT", "8080")),
    )
