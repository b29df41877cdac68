# Browser mode with a Python callback: the button's event reaches Python over the WebSocket and
# the answer comes back to the page.
# Needs: pip install 'pywry-server[fastapi]'
# Run: python examples/browser_callbacks.py
from pywry import PyWry, WindowMode

app = PyWry(mode=WindowMode.BROWSER)


def on_click(data, event_type, label):
    handle.emit("app:response", {"message": "Button clicked!"})


handle = app.show(
    """
    <button id="btn" onclick="window.pywry.emit('app:click', {})">Click me</button>
    <p id="response"></p>
    <script>
      window.pywry.on("app:response", (data) => {
        document.getElementById("response").textContent = data.message;
      });
    </script>
    """,
    title="Callbacks",
    callbacks={"app:click": on_click},
)
print(handle.url, flush=True)
app.block()
