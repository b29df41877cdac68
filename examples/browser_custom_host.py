# Browser mode on another host and port: bind every interface so other machines can open it.
# Run: python examples/browser_custom_host.py
# (setdefault lets PYWRY_SERVER__HOST / PYWRY_SERVER__PORT from the shell win.)
import os

os.environ.setdefault("PYWRY_SERVER__HOST", "0.0.0.0")  # Bind to all interfaces
os.environ.setdefault("PYWRY_SERVER__PORT", "9000")

from pywry import PyWry, WindowMode

app = PyWry(mode=WindowMode.BROWSER)
handle = app.show("<h1>Available on the network</h1>")
print(handle.url, flush=True)  # http://127.0.0.1:9000/widget/...; others use this machine's IP
app.block()
