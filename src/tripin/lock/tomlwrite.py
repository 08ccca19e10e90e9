"""TOML text of the lock mapping, without tomlkit.

Speed: tomlkit took ~0.1 s of CPU to write a 65-package, 8-target lock and ~30 ms to import, in a
`tripin lock` of ~1.3 s. Byte-identical: this writes what tomlkit wrote for the shapes a lock has
(tests/test_tomlwrite.py keeps tomlkit as the oracle), so a relock leaves users' pylock.toml files
as they were. What a lock never holds (float, None, ...) is refused with TypeError, not guessed
at; tomlkit quirks that only other shapes reach are not copied (in an array element it builds, it
moves a table after the arrays of tables; it writes no blank line after an empty element).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["dumps"]

_BARE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"  # a key tomlkit leaves unquoted
# tomlkit's escaping of a basic string: the short forms where TOML has one, \uXXXX for the rest
_ESCAPES = {c: f"\\u{c:04x}" for c in [*range(0x20), 0x7F]} | {
    ord(c): "\\" + e for c, e in zip('\b\t\n\f\r"\\', 'btnfr"\\', strict=True)
}


def dumps(data: Mapping[str, Any], comments: Iterable[str] = (), multiline: Collection[str] = ()) -> str:
    """`comments` become `# ` lines at the top; a list at a dotted path in `multiline`
    (`packages.wheels`: each package's, as written in the headers) is written one inline value a
    line, where tomlkit's default would be `[[key]]` tables. A `wheels` key anywhere else is not
    the lock's wheels, and is written as tomlkit writes any list."""
    out = [f"# {line.translate(_ESCAPES)}\n" for line in comments]  # a comment stays one line
    _body(data, "", out, bool(out), multiline)
    return "".join(out)


def _key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys are strings, not {type(key).__name__}")
    return key if key and not key.strip(_BARE) else _string(key)


def _string(value: str) -> str:
    return '"' + value.translate(_ESCAPES) + '"'


def _value(value: object, sep: str = ", ") -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_value, value)) + "]"
    if isinstance(value, dict):  # tomlkit: a table in an inline table has no space after its commas
        return "{" + sep.join(f"{_key(k)} = {_value(v, ',')}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__} in a lock")


def _is_tables(value: object) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, dict) for v in value)


def _body(table: Mapping[str, Any], prefix: str, out: list[str], spaced: bool, multiline: Collection[str]) -> None:
    """One table's keys, then its tables in order. tomlkit puts a blank line before each header
    but the first of a table with no plain keys: that one follows its parent's header or, under
    a header-less super table, the blank line the super table stands for."""
    tables: list[tuple[str, Any]] = []
    for k, v in table.items():
        key = _key(k)
        if prefix + key in multiline and isinstance(v, list | tuple):
            lines = "".join(f"    {_value(x)},\n" for x in v)
            out.append(f"{key} = [\n{lines}]\n" if v else f"{key} = []\n")
        elif isinstance(v, dict) or _is_tables(v):
            tables.append((prefix + key, v))
        else:
            out.append(f"{key} = {_value(v)}\n")
    spaced = spaced or len(tables) < len(table)
    for path, v in tables:
        blank = "\n" if spaced else ""
        spaced = True
        if isinstance(v, dict):  # a super table, holding only tables, has no header of its own
            only_tables = v and all(
                isinstance(x, dict) or (_is_tables(x) and f"{path}.{_key(n)}" not in multiline) for n, x in v.items()
            )
            out.append(blank if only_tables else f"{blank}[{path}]\n")
            _body(v, path + ".", out, False, multiline)
        else:
            for element in v:
                out.append(f"{blank}[[{path}]]\n")
                _body(element, path + ".", out, False, multiline)
                blank = "\n"
