# pywry behind Flask-Login: users sign in at the host's /login, and pywry's blueprint takes
# Flask-Login's `current_user` (get_id() as the user id, its `roles` attribute as roles) on
# pages, streams and posts. Flask is WSGI, so pages use the HTTP stream.
#
# Needs: pip install 'pywry-server[flask]' flask-login flask-wtf gunicorn
# Run:  gunicorn -k gthread --threads 16 -w 1 -b 127.0.0.1:8080 --chdir examples flask_login_app:app
#  or:  python examples/flask_login_app.py          (Flask's own threaded server, for development)
# then open http://127.0.0.1:8080/ and sign in as alice / alice-password or root / root-password.
import hmac
import os

# Access control on unless the environment says otherwise (a deployment exports these instead);
# root has no roles of its own here: PYWRY_DEPLOY__ADMIN_USERS makes that id an admin.
os.environ.setdefault("PYWRY_DEPLOY__AUTH_ENABLED", "true")
os.environ.setdefault("PYWRY_DEPLOY__ADMIN_USERS", "root")

from auth_widgets import admin_only, whoami  # noqa: E402 - examples/auth_widgets.py
from flask import Flask, redirect, render_template_string, request, url_for  # noqa: E402
from flask_login import (  # noqa: E402
    LoginManager,
    UserMixin,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf.csrf import CSRFProtect  # noqa: E402

from pywry.adapters.flask import blueprint  # noqa: E402
from pywry.auth import current_user as pywry_user  # noqa: E402


class Account(UserMixin):
    """A host user; Flask-Login's get_id() returns `id`, pywry reads `roles` too."""

    def __init__(self, name: str, password: str, roles: list[str]) -> None:
        self.id, self.password, self.roles = name, password, roles


# The host's users. A real app loads them from its database and checks password hashes.
USERS = {
    "alice": Account("alice", "alice-password", ["analyst"]),
    "root": Account("root", "root-password", []),
}

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY", "change-me")
CSRFProtect(app)  # the login form is protected; pywry's posts carry the widget token
login_manager = LoginManager(app)
login_manager.login_view = "login"


@login_manager.user_loader
def load_user(user_id: str):
    return USERS.get(user_id)


app.register_blueprint(blueprint(), url_prefix="/pywry")

LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1>{% if error %}<p>{{ error }}</p>{% endif %}<form method="post">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<p><label>User <input name="username" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password"></label></p>
<button type="submit">Sign in</button></form></body></html>"""

HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Signed in (Flask-Login)</title></head><body>
<p>Signed in as {{ current_user.id }}.</p>
<form method="post" action="{{ url_for('logout') }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}"><button>Sign out</button></form>
{{ pywry_widget(whoami, height="240px") }}
{% if current_user.id == "root" %}{{ pywry_widget(admin_only, height="160px") }}{% endif %}
</body></html>"""


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template_string(LOGIN, error=None)
    user = USERS.get(request.form.get("username", ""))
    given = request.form.get("password", "").encode()
    if user is None or not hmac.compare_digest(user.password.encode(), given):
        return render_template_string(LOGIN, error="Wrong user or password."), 403
    login_user(user)
    return redirect(url_for("home"))


@app.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("login"))


@app.get("/api/me")
def me():
    """Who pywry says this request is: the Flask-Login user, or a program that sends
    `Authorization: Bearer <token>` (a token from pywry.auth.issue_token)."""
    user = pywry_user()
    if user is None:
        return {"error": "sign in first"}, 401
    return {"id": user.id, "roles": sorted(user.roles)}


@app.get("/")
@login_required
def home():
    return render_template_string(HOME, whoami=whoami, admin_only=admin_only)


if __name__ == "__main__":
    app.run(
        host=os.environ.get("PYWRY_SERVER__HOST", "127.0.0.1"),
        port=int(os.environ.get("PYWRY_SERVER__PORT", "8080")),
        threaded=True,
    )
