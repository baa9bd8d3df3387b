"""Personal data as lists and exports show it: enough to recognise, not enough to use."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"1[0-9]{10}")
# Beijing (010) and the big cities (020-029) have 3-digit area codes; the rest have 4.
_LANDLINE = re.compile(r"(01[0-9]|02[0-9]|0[3-9][0-9]{2})([0-9]{7,8})")
_ID_NUMBER_KEPT = (6, 4)  # region code and the last four, as in `110101********4311`


def mask_phone(phone: str | None) -> str | None:
    """`138****5678` for a mobile; a landline keeps its area code: `0816***5678`."""
    if not phone:
        return phone
    if _MOBILE.fullmatch(phone):
        return phone[:3] + "****" + phone[-4:]
    if landline := _LANDLINE.fullmatch(phone):
        area, local = landline.groups()
        return area + "*" * (len(local) - 4) + local[-4:]
    return _keep_last_four(phone)


def mask_id_number(id_number: str | None) -> str | None:
    """`510703********0028`: the region shows, the birth date and sequence do not."""
    if not id_number:
        return id_number
    head, tail = _ID_NUMBER_KEPT
    if len(id_number) < head + tail + 4:  # too short to hide much: show only the end
        return _keep_last_four(id_number)
    return id_number[:head] + "*" * (len(id_number) - head - tail) + id_number[-tail:]


def _keep_last_four(value: str) -> str:
    """A value of no known shape: at most its last four characters show."""
    shown = value[-4:] if len(value) > 8 else ""
    return "*" * (len(value) - len(shown)) + shown
