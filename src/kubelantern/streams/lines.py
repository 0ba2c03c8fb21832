"""Split a byte stream into text lines without trusting it to ever send a newline.

``httpx``'s own line iterator keeps a partial line in memory until the
newline comes; a container that prints megabytes without one would grow the
server. Here a line longer than ``max_bytes`` is cut into pieces instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

MAX_LINE_BYTES = 16 * 1024


def _text(raw: bytes | bytearray) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="replace")


def _boundary(data: bytearray, limit: int) -> int:
    """The last cut at or before ``limit`` that does not split a UTF-8 character."""
    cut = limit
    while cut > limit - 4 and cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 else limit


def _pieces(line: bytes | bytearray, max_bytes: int) -> list[str]:
    out = []
    while len(line) > max_bytes:
        cut = _boundary(bytearray(line[: max_bytes + 1]), max_bytes)
        out.append(_text(line[:cut]))
        line = line[cut:]
    out.append(_text(line))
    return out


async def split_lines(
    chunks: AsyncIterable[bytes], max_bytes: int = MAX_LINE_BYTES
) -> AsyncIterator[str]:
    """Each line of ``chunks`` (without its newline); over-long lines come in pieces."""
    pending = bytearray()
    async for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            line: bytes | bytearray = chunk[start:end]
            if pending:
                pending += line
                line = bytes(pending)
                pending.clear()
            if len(line) <= max_bytes:
                yield _text(line)
            else:
                for piece in _pieces(line, max_bytes):
                    yield piece
            start = end + 1
        pending += chunk[start:]
        while len(pending) > max_bytes:
            cut = _boundary(pending, max_bytes)
            yield _text(pending[:cut])
            del pending[:cut]
    if pending:
        yield _text(pending)
