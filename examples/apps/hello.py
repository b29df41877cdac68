# An application of directory deploy: `pywry path-deploy examples/apps` serves it at /hello.
# main() runs once per visit and returns the handle of what it showed: every visitor gets a
# widget of their own, so the click count below is theirs alone.
from pywry import current_event
from pywry.inline import show


def main():
    clicks = 0

    def on_click(data, event_type, label):
        nonlocal clicks
        clicks += 1
        current_event().reply("hello:count", {"clicks": clicks})

    return show(
        """
        <h1>Hello</h1>
        <button id="btn">Click me</button>
        <p id="count">no clicks yet</p>
        <script>
          document.getElementById("btn").onclick = () => window.pywry.emit("hello:click", {});
          window.pywry.on("hello:count", (data) => {
            document.getElementById("count").textContent = "clicks: " + data.clicks;
          });
        </script>
        """,
        title="Hello",
        callbacks={"hello:click": on_click},
    )
