"""One short function per command: load the stream, decide, append with the expected version."""


class VersionMismatch(Exception):
    """The caller's `If-Match` version is not the record's current version."""

    def __init__(self, current: int):
        super().__init__(f"current version is {current}")
        self.current = current
