"""The two widgets every sign-in example serves (importing this module registers them).

- "whoami": any signed-in user may open it; its button asks Python who sent the click, and the
  callback answers with `pywry.auth.current_user()` (the sender: the host framework's user).
- "admin-only": `roles=["admin"]` lets in admins only (Django superusers, users with an "admin"
  role or scope, and the ids listed in PYWRY_DEPLOY__ADMIN_USERS).

With access control off (PYWRY_DEPLOY__AUTH_ENABLED=false) both open to anyone and
`current_user()` is None.
"""

from pywry.auth import current_user
from pywry.inline import show

WHOAMI_PAGE = """
<h1>Who am I?</h1>
<button id="ask" onclick="window.pywry.emit('app:whoami', {})">Ask the server</button>
<p id="answer"></p>
<script>
  window.pywry.on("app:you-are", (d) => {
    document.getElementById("answer").textContent =
      d.id ? `You are ${d.id} (roles: ${d.roles.join(", ")})` : "Nobody is signed in";
  });
</script>
"""


def on_whoami(data, event_type, label):
    user = current_user()  # who sent this event (None when access control is off)
    answer = (
        {"id": None, "roles": []} if user is None else {"id": user.id, "roles": sorted(user.roles)}
    )
    whoami.emit("app:you-are", answer)  # inside a callback: to the sender's page only


whoami = show(WHOAMI_PAGE, label="whoami", title="Who am I", callbacks={"app:whoami": on_whoami})
admin_only = show("<h1>Admins only</h1>", label="admin-only", title="Admin", roles=["admin"])
