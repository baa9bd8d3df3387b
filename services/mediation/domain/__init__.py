"""Mediation's aggregates: `decide` functions that check the rules and return new events,
and `evolve` functions that apply events and never check anything. Pure, no I/O."""


class DomainError(Exception):
    """A rule of the domain said no. `code` is the problem it becomes (a key of
    `shared.problems.PROBLEMS`); the details say why, in Chinese and English."""

    code = "illegal_transition"

    def __init__(self, detail_zh: str, detail_en: str):
        super().__init__(detail_en)
        self.detail_zh = detail_zh
        self.detail_en = detail_en
