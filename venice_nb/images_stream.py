"""Decoding a JSON answer's images in place while the body arrives.

A 4K PNG comes back as ~20 MB of base64 inside ``{"images": ["..."], ...}``; decoding it after the
last byte costs ~90 ms on top of the transfer. ``ImagesStream`` watches ``wire.read_body`` fill the
body buffer and decodes the strings of the first ``"images": [`` array as they come, writing the
bytes back into the same buffer over the base64 already read (3 bytes for every 4 characters, so
the writing never overtakes the reading). No second buffer, no pieces: the memory is that of the
body, as before, and the decode overlaps the transfer.

Anything unusual (an escape or a non-base64 character in a string, padding in the middle, a
non-string entry, a body cut short, an ``images`` key that turns out not to be the top-level one)
puts the decoded strings back as base64 (only whole quads were decoded, so this is the text that
arrived) and ``finish`` returns the body as sent, for the ordinary parser and its one-line errors.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
from dataclasses import dataclass
from typing import Any

IMAGES_KEY = re.compile(rb'"images"\s*:\s*\[')

_BEFORE, _ARRAY, _STRING, _AFTER, _BROKEN = range(5)
_SEPARATORS = b" \t\r\n,"
_QUOTE, _CLOSE = ord('"'), ord("]")


class _Malformed(ValueError):
    """Raised inside the stream only: the body is not the usual shape after all."""


def strict_b64decode(data: bytes | memoryview) -> bytes:
    """The one strict base64 decoder (no whitespace, no stray characters): ValueError otherwise.

    On 3.11+ ``binascii`` reads a memoryview in place; ``b64decode`` would first copy it whole
    (``tobytes``), for a 4K PNG 20 MB more at the peak, with the same strictness."""
    if isinstance(data, memoryview) and sys.version_info >= (3, 11):
        return binascii.a2b_base64(data, strict_mode=True)
    return base64.b64decode(data, validate=True)


def _strict_b64(data: memoryview) -> bytes:
    try:
        return strict_b64decode(data)
    except ValueError:  # binascii.Error is one
        raise _Malformed from None


@dataclass
class _String:
    """One image string: its base64 started at ``start``; ``written`` bytes of it are decoded
    into ``buf[start:start + written]``; ``read`` is the next base64 character to decode."""

    start: int
    read: int
    written: int = 0
    end: int = -1  # the closing quote, once seen


class ImagesStream:
    """Decodes the top-level ``images`` strings of a JSON body in place, as it fills."""

    def __init__(self) -> None:
        self._state = _BEFORE
        self._pos = 0  # everything before this has been looked at
        self._strings: list[_String] = []

    def advance(self, buf: bytearray, filled: int) -> None:
        """``buf[:filled]`` has arrived (``buf`` may have been reallocated since the last call)."""
        if self._state in (_AFTER, _BROKEN):
            return
        try:
            self._advance(buf, filled)
        except _Malformed:
            self._restore(buf)

    def _advance(self, buf: bytearray, filled: int) -> None:
        if self._state == _BEFORE:
            match = IMAGES_KEY.search(buf, self._pos, filled)
            if match is None:
                self._pos = max(0, filled - 64)  # a key cut by the chunk is found next time
                return
            self._pos, self._state = match.end(), _ARRAY
        pos = self._pos
        while pos < filled:
            if self._state == _ARRAY:
                while pos < filled and buf[pos] in _SEPARATORS:
                    pos += 1
                if pos == filled:
                    break
                if buf[pos] == _CLOSE:
                    self._state = _AFTER
                    return
                if buf[pos] != _QUOTE:
                    raise _Malformed
                self._strings.append(_String(start=pos + 1, read=pos + 1))
                self._state, pos = _STRING, pos + 1
            else:
                pos = self._decode(buf, filled, self._strings[-1])
                if self._state == _STRING:
                    break  # the rest of the string has not arrived yet
        self._pos = pos

    def _decode(self, buf: bytearray, filled: int, s: _String) -> int:
        """Decode what has arrived of string ``s``; the position to go on from."""
        quote = buf.find(b'"', s.read, filled)
        stop = filled if quote < 0 else quote
        if buf.find(b"\\", s.read, stop) >= 0:
            raise _Malformed
        upto = stop if quote >= 0 else s.read + (stop - s.read) // 4 * 4
        if quote < 0 and upto > s.read and buf[upto - 1] == ord("="):
            upto -= 4  # padding may only end a string: decode it with the quote
        if upto > s.read:
            with memoryview(buf) as view:
                decoded = _strict_b64(view[s.read : upto])
            at = s.start + s.written
            buf[at : at + len(decoded)] = decoded  # behind the reading: 3 bytes per 4 read
            s.written += len(decoded)
            s.read = upto
        if quote < 0:
            return s.read
        s.end, self._state = quote, _ARRAY
        return quote + 1

    def _restore(self, buf: bytearray) -> None:
        """Each string back to its base64, so ``buf`` is the body as it arrived."""
        for s in self._strings:
            if s.written:
                buf[s.start : s.read] = base64.b64encode(buf[s.start : s.start + s.written])
        self._strings = []
        self._state = _BROKEN

    def finish(self, buf: bytearray) -> tuple[bytearray, tuple[dict[str, Any], list[bytes]] | None]:
        """(the body without its image strings, (meta, images)) when they were decoded on the
        way; (the whole body as it arrived, None) otherwise."""
        if self._state != _AFTER:
            self._restore(buf)
            return buf, None
        rest = bytearray()
        last = 0
        for s in self._strings:
            rest += buf[last : s.start]
            last = s.end
        rest += buf[last:]
        try:
            meta = json.loads(rest)
        except ValueError:
            meta = None
        empty = [""] * len(self._strings)
        if not isinstance(meta, dict) or not self._strings or meta.get("images") != empty:
            self._restore(buf)  # not the top-level array after all (or an empty one)
            return buf, None
        del meta["images"]
        with memoryview(buf) as view:
            images = [bytes(view[s.start : s.start + s.written]) for s in self._strings]
        return rest, (meta, images)
