"""Line numbers for paths in TOML text.

``tomllib`` returns plain data without positions, so a problem found while validating would
have no line to point at. :class:`LineLocator` walks the same text once and remembers the line
of every table header, key and array element under the path the data has after parsing, e.g.
``("deals", 2, "rate")`` or ``("promotions", 0, "rewards", 1, "amount")``.

It is a tolerant scanner, not a validator: on text it does not understand it skips to the next
line, and it never raises.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE = frozenset(string.ascii_letters + string.digits + "_-")
_SCALAR_END = frozenset(",]}#\n\r")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class LineLocator:
    """Where each key, table and array element of a TOML document starts (1-based lines)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1
        self._lines: dict[Path, int] = {}
        self._aot: dict[Path, int] = {}  # array-of-tables path -> index of its latest element
        with contextlib.suppress(RecursionError):  # absurd nesting: keep what was found
            self._scan()

    def line_of(self, path: Sequence[str | int]) -> int:
        """Line of ``path`` or of its most specific known ancestor; 1 when nothing is known."""
        key = tuple(path)
        for end in range(len(key), 0, -1):
            line = self._lines.get(key[:end])
            if line is not None:
                return line
        return 1

    def known_paths(self) -> dict[Path, int]:
        """Every recorded path and its line (for debugging and tests)."""
        return dict(self._lines)

    # -- cursor -----------------------------------------------------------------------------

    def _peek(self, offset: int = 0) -> str:
        index = self._pos + offset
        return self._text[index] if index < len(self._text) else ""

    def _advance(self, count: int = 1) -> None:
        end = min(self._pos + count, len(self._text))
        self._line += self._text.count("\n", self._pos, end)
        self._pos = end

    def _skip_to_line_end(self) -> None:
        """Move to the next newline without consuming it (used for comments)."""
        end = self._text.find("\n", self._pos)
        self._pos = len(self._text) if end < 0 else end

    def _skip_line(self) -> None:
        self._skip_to_line_end()
        self._advance()

    def _skip_blank(self, newlines: bool) -> None:
        while True:
            char = self._peek()
            if char in (" ", "\t"):
                self._pos += 1
            elif char == "#":
                self._skip_to_line_end()
            elif newlines and char in ("\n", "\r"):
                self._advance()
            else:
                return

    def _record(self, path: Path, line: int) -> None:
        self._lines.setdefault(path, line)

    # -- document structure -----------------------------------------------------------------

    def _scan(self) -> None:
        table: Path = ()
        while self._pos < len(self._text):
            self._skip_blank(newlines=True)
            if not self._peek():
                return
            start = self._pos
            if self._peek() == "[":
                table = self._header(table)
            else:
                self._key_value(table)
            if self._pos == start:
                self._skip_line()
                continue
            self._skip_blank(newlines=False)
            if self._peek() not in ("\n", "\r", ""):
                self._skip_line()  # trailing junk: not ours to judge

    def _resolve(self, keys: tuple[str, ...]) -> Path:
        """Map header keys to a data path, entering the latest element of each [[array]]."""
        path: Path = ()
        for key in keys:
            path += (key,)
            if path in self._aot:
                path += (self._aot[path],)
        return path

    def _header(self, table: Path) -> Path:
        line = self._line
        self._advance()
        is_array = self._peek() == "["
        if is_array:
            self._advance()
        self._skip_blank(newlines=False)
        keys = self._key()
        self._skip_blank(newlines=False)
        close = "]]" if is_array else "]"
        if not keys or not self._text.startswith(close, self._pos):
            self._skip_line()
            return table
        self._advance(len(close))
        if is_array:
            base = (*self._resolve(keys[:-1]), keys[-1])
            index = self._aot.get(base, -1) + 1
            self._aot[base] = index
            path = (*base, index)
        else:
            path = self._resolve(keys)
        for end in range(1, len(path) + 1):
            self._record(path[:end], line)
        return path

    def _key_value(self, table: Path) -> bool:
        """Parse ``key = value`` at the cursor, recording the key's line; False if not one."""
        line = self._line
        keys = self._key()
        if not keys:
            return False
        self._skip_blank(newlines=False)
        if self._peek() != "=":
            return False
        self._advance()
        self._skip_blank(newlines=False)
        for end in range(1, len(keys) + 1):
            self._record(table + keys[:end], line)
        self._value(table + keys)
        return True

    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self._skip_spaces()
            char = self._peek()
            part: str | None
            if char == '"':
                part = self._basic_string()
            elif char == "'":
                part = self._literal_string()
            elif char and char in _BARE:
                start = self._pos
                while self._peek() and self._peek() in _BARE:
                    self._pos += 1
                part = self._text[start : self._pos]
            else:
                part = None
            if part is None:
                return ()
            parts.append(part)
            self._skip_spaces()
            if self._peek() != ".":
                return tuple(parts)
            self._pos += 1

    def _skip_spaces(self) -> None:
        while self._peek() in (" ", "\t"):
            self._pos += 1

    # -- values -----------------------------------------------------------------------------

    def _value(self, path: Path) -> None:
        char = self._peek()
        if self._text.startswith('"""', self._pos):
            self._multiline_string('"""')
        elif self._text.startswith("'''", self._pos):
            self._multiline_string("'''")
        elif char == '"':
            self._basic_string()
        elif char == "'":
            self._literal_string()
        elif char == "[":
            self._array(path)
        elif char == "{":
            self._inline_table(path)
        else:
            while self._peek() and self._peek() not in _SCALAR_END:
                self._pos += 1

    def _array(self, path: Path) -> None:
        """Each element is recorded at the line where it starts, at ``path + (index,)``."""
        self._advance()
        index = 0
        while True:
            self._skip_blank(newlines=True)
            char = self._peek()
            if char == "]":
                self._advance()
                return
            if char in ("", ",", "}"):
                return  # malformed: let the document loop resynchronise
            start = self._pos
            self._record((*path, index), self._line)
            self._value((*path, index))
            if self._pos == start:
                return
            self._skip_blank(newlines=True)
            if self._peek() != ",":
                if self._peek() == "]":
                    self._advance()
                return
            self._advance()
            index += 1

    def _inline_table(self, path: Path) -> None:
        self._advance()
        while True:
            self._skip_blank(newlines=True)
            if self._peek() == "}":
                self._advance()
                return
            if not self._key_value(path):
                return
            self._skip_blank(newlines=True)
            if self._peek() != ",":
                if self._peek() == "}":
                    self._advance()
                return
            self._advance()

    def _basic_string(self) -> str | None:
        """Consume a one-line "..." string and return its text (None if unterminated)."""
        self._advance()
        out: list[str] = []
        while True:
            char = self._peek()
            if char in ("", "\n"):
                return None
            if char == '"':
                self._advance()
                return "".join(out)
            if char == "\\":
                escape = self._peek(1)
                if escape in ("u", "U") and escape:
                    width = 4 if escape == "u" else 8
                    digits = self._text[self._pos + 2 : self._pos + 2 + width]
                    try:
                        out.append(chr(int(digits, 16)))
                    except (ValueError, OverflowError):
                        out.append("?")
                    self._advance(2 + width)
                else:
                    out.append(_ESCAPES.get(escape, escape))
                    self._advance(2)
                continue
            out.append(char)
            self._advance()

    def _literal_string(self) -> str | None:
        end = self._text.find("'", self._pos + 1)
        newline = self._text.find("\n", self._pos + 1)
        if end < 0 or 0 <= newline < end:
            self._skip_to_line_end()
            return None
        text = self._text[self._pos + 1 : end]
        self._pos = end + 1
        return text

    def _multiline_string(self, quote: str) -> None:
        self._advance(3)
        while self._pos < len(self._text):
            if quote == '"""' and self._peek() == "\\":
                self._advance(2)
            elif self._text.startswith(quote, self._pos):
                self._advance(3)
                extra = 0
                while extra < 2 and self._peek() == quote[0]:  # up to two quotes may close it
                    self._advance()
                    extra += 1
                return
            else:
                self._advance()
