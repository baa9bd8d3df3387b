"""Free text shortened for lists of breaches and work items."""

EXCERPT_LENGTH = 30


def excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "…"
