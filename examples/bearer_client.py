# A program talking to a pywry widget with a bearer token (see bearer_tokens.py): it loads the
# widget page for its bootstrap (the widget token and socket path), opens the WebSocket with
# `Authorization: Bearer <token>`, sends one event and prints the reply.
#
# Needs: pip install 'pywry-server[fastapi]' httpx websockets
# Run:  python examples/bearer_client.py http://127.0.0.1:8080 TOKEN [LABEL]
import json
import re
import sys

import httpx
from websockets.sync.client import connect

BOOTSTRAP = re.compile(r'<script type="application/json" id="pywry-bootstrap">(.*?)</script>')


def ask_whoami(base_url: str, token: str, label: str = "whoami") -> dict:
    auth = {"Authorization": f"Bearer {token}"}
    page = httpx.get(f"{base_url}/pywry/widget/{label}", headers=auth, timeout=10)
    page.raise_for_status()  # 401: no or bad token; 403: the token's user may not open it
    boot = json.loads(BOOTSTRAP.search(page.text).group(1))  # what the page's bridge reads
    url = base_url.replace("http", "ws", 1) + boot["ws"] + "?client=script1"
    with connect(
        url,
        subprotocols=[f"pywry.token.{boot['token']}"],  # the widget's own token, as pages send it
        additional_headers=auth,  # who we are
        open_timeout=10,
    ) as ws:
        ws.send(json.dumps({"type": "app:whoami", "data": {}, "id": 1, "widgetId": boot["label"]}))
        for _ in range(100):  # batches of messages; skip acks and bookkeeping
            frame = json.loads(ws.recv(timeout=10))
            for msg in frame.get("events", [frame]):
                if msg["type"] == "app:you-are":
                    return msg["data"]
    raise RuntimeError("no answer")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: bearer_client.py BASE_URL TOKEN [LABEL]")
    print(json.dumps(ask_whoami(*sys.argv[1:4])))
