"""Which colour a status word gets in lists: ok, warn, bad, or neutral (grey).

The words are the API server's own (the STATUS column of ``kubectl get pods``,
a claim's phase, a node's ``Ready,SchedulingDisabled``), so this is a table of
words, not a reading of objects. The chip always shows the word and a shape
(check, triangle, cross, question mark): colour is never the only signal.
"""

from __future__ import annotations

import re

OK = frozenset(
    {
        "running",
        "ready",
        "bound",
        "complete",
        "completed",
        "succeeded",
        "active",
        "available",
        "true",
        "healthy",
        "established",
        "deployed",
    }
)
WARN = frozenset(
    {
        "pending",
        "containercreating",
        "podinitializing",
        "terminating",
        "released",
        "suspended",
        "schedulingdisabled",
        "progressing",
        "waiting",
        "notready",
        "pending-install",
        "pending-upgrade",
        "pending-rollback",
        "uninstalling",
    }
)
BAD = frozenset(
    {
        "failed",
        "error",
        "crashloopbackoff",
        "imagepullbackoff",
        "errimagepull",
        "invalidimagename",
        "evicted",
        "oomkilled",
        "createcontainerconfigerror",
        "createcontainererror",
        "runcontainererror",
        "containerstatusunknown",
        "starterror",
        "lost",
        "backofflimitexceeded",
        "deadlineexceeded",
        "false",
        "unhealthy",
        "nodelost",
        "unschedulable",
    }
)
STATUS_COLUMNS = frozenset({"Status", "Phase", "State", "Result"})
_RANK = {"neutral": 0, "ok": 1, "warn": 2, "bad": 3}
_FRACTION = re.compile(r"^(\d+)/(\d+)$")
ICONS = {
    "ok": "circle-check",
    "warn": "triangle-alert",
    "bad": "circle-x",
    "neutral": "circle-help",
}


def word_tone(word: str) -> str:
    """One word: ``Init:CrashLoopBackOff`` counts as its reason, ``Init:1/2`` as pending."""
    w = word.strip()
    if w.startswith("Init:"):
        reason = w[5:]
        return "warn" if _FRACTION.match(reason) else word_tone(reason)
    key = w.lower()
    if key in BAD or key.startswith("exitcode:") or key.startswith("signal:"):
        return "bad"
    if key in WARN:
        return "warn"
    if key in OK:
        return "ok"
    return "neutral"


_FINISHED = frozenset({"Completed", "Succeeded", "Complete"})


def status_tone(column: str, value: object, row: list[object] | None = None) -> str | None:
    """The tone of a list cell, or None when the column is no status column.

    ``Status``-like columns by their words (the worst of ``A,B``); ``Ready``
    cells of the form ``2/3`` by how many are ready, except in the row of a
    finished pod or job (``0/1`` is how a Completed pod should look).
    """
    if value is None or value == "":
        return None
    text = str(value)
    if column == "Ready":
        match = _FRACTION.match(text)
        if not match:
            return word_tone(text) if text in ("True", "False") else None
        ready, total = int(match[1]), int(match[2])
        if total == 0 or any(cell in _FINISHED for cell in row or ()):
            return "neutral"
        return "ok" if ready == total else "warn"
    if column not in STATUS_COLUMNS:
        return None
    tones = [word_tone(part) for part in text.split(",") if part.strip()]
    return max(tones, key=_RANK.__getitem__) if tones else None


def template_globals() -> dict[str, object]:
    return {"status_tone": status_tone, "status_icon": ICONS.get}
