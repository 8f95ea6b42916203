"""A size-capped text sink that stands in for sys.stdout/sys.stderr while a program runs.

It keeps the first `limit` characters and counts the rest, so a print flood costs the process
nothing beyond the strings the program itself builds and can never grow the executor's memory.
It does not capture writes to file descriptor 1 made by C code or os.write: fd 1 of every
program process is /dev/null.
"""
from __future__ import annotations

import io


class CappedText(io.TextIOBase):
    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self.limit - self.size
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.size += len(piece)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        body = "".join(self.parts)
        if self.dropped:  # the note fits inside the limit, so the parent's own cap keeps it
            note = f"\n[... {self.dropped + len(body)} characters in all, truncated]"
            body = body[:max(0, self.limit - len(note))] + note
        return body
