# Browser mode on another host and port. It binds the loopback address unless you say otherwise:
# to let other machines open it, run it with every interface bound, on a network you trust:
#   PYWRY_SERVER__HOST=0.0.0.0 python examples/browser_custom_host.py
# and name the hosts they use, against DNS rebinding (else pywry answers to every name and warns):
#   PYWRY_SERVER__ALLOWED_HOSTS=mybox.lan PYWRY_SERVER__HOST=0.0.0.0 \
#       python examples/browser_custom_host.py
# (setdefault lets PYWRY_SERVER__HOST / PYWRY_SERVER__PORT from the shell win.)
# Needs: pip install 'pywry-server[fastapi]'
import os

os.environ.setdefault("PYWRY_SERVER__HOST", "127.0.0.1")
os.environ.setdefault("PYWRY_SERVER__PORT", "9000")

from pywry import PyWry, WindowMode

app = PyWry(mode=WindowMode.BROWSER)
handle = app.show("<h1>Available on the network</h1>")
print(handle.url, flush=True)  # http://127.0.0.1:9000/widget/...; others use this machine's IP
app.block()
