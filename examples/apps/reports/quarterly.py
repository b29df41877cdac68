# /reports/quarterly. With access control on (PYWRY_DEPLOY__AUTH_ENABLED), only users with one
# of ROLES may open it; `pywry.auth.protect(main, roles=[...])` says the same.
from pywry.inline import show

ROLES = ["analyst"]

REVENUE = {"Q1": 100, "Q2": 150, "Q3": 130, "Q4": 180}


def main():
    rows = "".join(f"<tr><td>{q}</td><td>{v}</td></tr>" for q, v in REVENUE.items())
    return show(
        f"<h1>Quarterly revenue</h1><table><tr><th>Quarter</th><th>Revenue</th></tr>{rows}</table>",
        title="Quarterly revenue",
    )
