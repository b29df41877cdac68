# Browser mode over HTTPS: pages load from https:// and events travel over wss://.
# Needs: pip install 'pywry-server[fastapi]'
# Run:
#   openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
#       -keyout key.pem -out cert.pem
#   PYWRY_SERVER__SSL_CERTFILE=cert.pem PYWRY_SERVER__SSL_KEYFILE=key.pem \
#       python examples/browser_https.py
import os
import sys

from pywry import PyWry, WindowMode

cert = os.environ.get("PYWRY_SERVER__SSL_CERTFILE")
key = os.environ.get("PYWRY_SERVER__SSL_KEYFILE")
if not (cert and key):
    sys.exit("set PYWRY_SERVER__SSL_CERTFILE and PYWRY_SERVER__SSL_KEYFILE (see above)")

app = PyWry(mode=WindowMode.BROWSER)


def on_ping(data, event_type, label):
    handle.emit("app:pong", {"message": "pong over a secure socket"})


handle = app.show(
    """
    <h1>Served over HTTPS</h1>
    <button id="btn" onclick="window.pywry.emit('app:ping', {})">Ping</button>
    <p id="response"></p>
    <script>
      window.pywry.on("app:pong", (data) => {
        document.getElementById("response").textContent = data.message;
      });
    </script>
    """,
    title="HTTPS",
    callbacks={"app:ping": on_ping},
)
print(handle.url, flush=True)  # https://127.0.0.1:8765/widget/...
app.block()
