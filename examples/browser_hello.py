# Browser mode, the smallest app: one widget in the system browser until its tab is closed.
# Needs: pip install 'pywry-server[fastapi]'
# Run: python examples/browser_hello.py
from pywry import PyWry, WindowMode

app = PyWry(mode=WindowMode.BROWSER)
handle = app.show("<h1>Hello Browser!</h1>")
print(handle.url, flush=True)
app.block()  # Keeps the server running until the tab is closed (or Ctrl+C)
