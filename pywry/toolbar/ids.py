"""Component ids generated for items (and toolbars) created without one.

An id is ``tb-<stem>-<digest>``: the stem comes from the event name (else the item's kind) and
the digest from the item's other fields.  It depends on nothing but the item itself, so every
worker process that builds the same toolbar gives it the same ids, whatever else it built before
(events and secrets posted by a page served by one worker must match ids known to another).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

_STEM_RE = re.compile(r"[^a-z0-9]+")
_STEM_LEN = 48
_DIGEST_LEN = 8

#: What a generated id looks like (for error hints; an author may also choose such an id).
AUTO_ID_RE = re.compile(rf"tb-[a-z0-9-]*-[0-9a-f]{{{_DIGEST_LEN}}}", re.ASCII)


def auto_id(event: object, kind: str, content: Mapping[str, object]) -> str:
    """The id of an item with this ``event`` (or None), ``kind`` and JSON-able ``content``."""
    stem = ""
    if isinstance(event, str):
        stem = _STEM_RE.sub("-", event.lower()).strip("-")[:_STEM_LEN].strip("-")
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:_DIGEST_LEN]
    return f"tb-{stem or kind}-{digest}"


def with_id_hint(message: str, component_id: str) -> str:
    """``message`` about a duplicated id, with a hint when the id was generated."""
    if AUTO_ID_RE.fullmatch(component_id):
        message += (
            " (generated ids come from an item's fields, so identical items share one; "
            "give them each a component_id)"
        )
    return message
