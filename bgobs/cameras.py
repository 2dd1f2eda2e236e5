"""The cameras listed in the source's Camera box.

``get_properties`` runs on OBS's UI thread, which must not do device or file I/O: it gets
the last list from :func:`listed` at once, and a refresh runs on a short-lived thread (the
next opening of the dialog shows its result).
"""

from __future__ import annotations

import glob
import sys
import threading
from pathlib import Path

_cache: list[tuple[str, str]] = []
_lock = threading.Lock()
_refreshing = False


def _scan() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if sys.platform.startswith("linux"):
        for dev in sorted(
            glob.glob("/sys/class/video4linux/video*"), key=lambda p: int(p.rsplit("video", 1)[1] or 0)
        ):
            index = dev.rsplit("video", 1)[1]
            try:
                if Path(dev, "index").read_text().strip() not in ("", "0"):
                    continue  # metadata node of a camera, not a picture
                name = Path(dev, "name").read_text().strip()
            except OSError:
                name = f"/dev/video{index}"
            found.append((index, f"{index}: {name}"))
    if not found:
        found = [
            (str(i), f"{i}: {'first' if i == 0 else 'second' if i == 1 else 'third'} camera")
            for i in range(3)
        ]
    return found


def _refresh() -> None:
    global _cache, _refreshing
    try:
        result = _scan()
        with _lock:
            _cache = result
    finally:
        _refreshing = False


def listed() -> list[tuple[str, str]]:
    """[(value, label)] from the last scan; starts a new scan in the background."""
    global _refreshing
    with _lock:
        result = list(_cache)
        start = not _refreshing
        _refreshing = True
    if start:
        threading.Thread(target=_refresh, name="bgreplace camera scan", daemon=True).start()
    if not result:
        result = [("0", "0: first camera")]
    return result
