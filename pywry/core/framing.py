"""Which pages may frame pywry's pages: `frame-ancestors` and the matching `X-Frame-Options`.

A page that anyone may put in an invisible frame can be clicked through by a foreign site
(clickjacking). `FRAME_ANCESTORS` is a CSP source list: `'self'` (the default: host pages of
the same origin embed widgets), `'none'`, or origins such as `https://*.example.com`.
"""

from __future__ import annotations

_KEYWORDS = {"self": "'self'", "none": "'none'"}
_FORBIDDEN = set(";,\"'\\<>")


def check_frame_ancestors(value: str) -> str:
    """`value` as a normalised source list (`self` gains its quotes); ValueError when invalid."""
    sources = []
    for word in value.split():
        bare = word.strip("'").lower()
        if bare in _KEYWORDS:
            sources.append(_KEYWORDS[bare])
        elif _FORBIDDEN.intersection(word) or not (word.isascii() and word.isprintable()):
            raise ValueError(
                f"{word!r} is not a source: use 'self', 'none', a scheme such as https: or an "
                "origin such as https://*.example.com"
            )
        else:
            sources.append(word)
    if not sources:
        raise ValueError("must name at least one source, such as 'self' or 'none'")
    if "'none'" in sources and len(sources) > 1:
        raise ValueError(f"'none' cannot be combined with other sources (got {value!r})")
    return " ".join(sources)


def frame_headers(ancestors: str) -> dict[str, str]:
    """The headers of a pywry page: CSP `frame-ancestors`, plus `X-Frame-Options` where it
    can say the same (SAMEORIGIN for `'self'`, DENY for `'none'`; absent otherwise)."""
    headers = {"Content-Security-Policy": f"frame-ancestors {ancestors}"}
    legacy = {"'self'": "SAMEORIGIN", "'none'": "DENY"}.get(ancestors)
    if legacy is not None:
        headers["X-Frame-Options"] = legacy
    return headers
