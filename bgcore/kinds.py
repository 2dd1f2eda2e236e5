"""The one rule for the name of a kind in the spec registries (``kind:ARG`` for frame sources
and backgrounds: :func:`bgcore.capture.register_source`,
:func:`bgcore.backgrounds.register_background`)."""

from __future__ import annotations


def kind_key(kind: str, what: str) -> str:
    """``kind`` as a registry key (stripped, lower case).

    ValueError unless it is a word of two letters or more (one letter would shadow Windows
    drive paths); ``what`` ("source", "background") names the registry in the message.

    >>> kind_key(" NDI ", "source")
    'ndi'
    """
    key = kind.strip().lower()
    if len(key) < 2 or not key.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"{what} kind must be a word of 2+ letters, got {kind!r}")
    return key
