"""Time-ordered identifiers (UUID version 7, RFC 9562).

A random UUID (version 4) lands anywhere in a B-tree index, so every insert touches a
cold page and, after each checkpoint, writes that whole page to PostgreSQL's WAL. A
version-7 UUID starts with the Unix time in milliseconds: new ids go to the right edge
of the index, as a sequence would, while staying unguessable (74 random bits).
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def uuid7() -> uuid.UUID:
    milliseconds = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10), "big")
    rand_a = random >> 68  # 12 bits
    rand_b = random & ((1 << 62) - 1)
    return uuid.UUID(int=(milliseconds << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT_RFC | rand_b)
