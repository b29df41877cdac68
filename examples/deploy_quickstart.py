# The Quick Start of the deploy-mode guide: one Plotly-free widget page served at "/".
# Needs: pip install 'pywry-server[fastapi]'
# Run: python examples/deploy_quickstart.py   (then open http://127.0.0.1:8080/)
import os

os.environ.setdefault("PYWRY_SERVER__HOST", "127.0.0.1")
os.environ.setdefault("PYWRY_SERVER__PORT", "8080")

from fastapi.responses import HTMLResponse

from pywry.inline import deploy, get_server_app, get_widget_html_async, show

app = get_server_app()


def on_click(data, event_type, label):
    # Answer every page that shows this widget.
    widget.emit("app:answer", {"clicks": data.get("clicks", 0), "echo": data})


widget = show(
    """
    <h1>Quarterly Revenue</h1>
    <button id="btn">Click me</button>
    <p id="answer">no answer yet</p>
    <ul id="log"></ul>
    <script>
      let clicks = 0;
      document.getElementById("btn").onclick = () =>
        window.pywry.emit("app:click", {clicks: ++clicks});
      window.pywry.on("app:answer", (data) => {
        document.getElementById("answer").textContent = "clicks: " + data.clicks;
      });
      window.pywry.on("app:note", (data) => {
        const li = document.createElement("li");
        li.textContent = data.text;
        document.getElementById("log").appendChild(li);
      });
    </script>
    """,
    label="dashboard",
    title="Quarterly Revenue",
    callbacks={"app:click": on_click},
)


@app.get("/", response_class=HTMLResponse)
async def home():
    html = await get_widget_html_async(widget.label)
    return HTMLResponse(html)


if __name__ == "__main__":
    deploy()
