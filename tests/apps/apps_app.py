"""A deploy-mode app whose pages are made per visitor by page factories (`apps=`)."""

from pywry.inline import deploy, get_server_app, show


def report():
    """Each visit shows its own widget, answering its own page."""
    holder = {}

    def hello(data, event_type, label):
        holder["w"].emit("app:hello-answer", {"label": label})

    holder["w"] = show("<p>report</p>", title="Report", callbacks={"app:hello": hello})
    return holder["w"]


app = get_server_app(apps={"report": report})

if __name__ == "__main__":
    deploy()
