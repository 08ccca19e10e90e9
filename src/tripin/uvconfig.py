"""What a uv or pip-tools user has already said in pyproject.toml about indexes, read as tripin's
own settings: `[[tool.uv.index]]` (name, url, explicit, default), `[tool.uv.sources]` index pins,
`[tool.uv] index-url / extra-index-url` and `[tool.pip-tools] index-url / extra-index-url`.
Ignoring them would be worse than not reading them at all: a project that pins `six` to its
internal index would get PyPI's `six` (dependency confusion). What tripin does not follow there
is said in one warning per key, never dropped in silence."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from tripin.errors import ConfigError, quote
from tripin.families import VARIANT_FAMILY

__all__ = ["RESERVED_INDEX", "ForeignIndex", "ForeignSettings", "read_foreign"]

# Names tripin gives indexes itself: a uv index of such a name is renamed `uv:NAME`, so that a
# pin to it cannot mean one of tripin's
RESERVED_INDEX = re.compile(r"default|extra-\d+|pytorch-.*")
_UV_NAME = re.compile(r"[A-Za-z0-9._-]+")  # uv's own rule for index names

# [tool.uv] keys that change what a lock holds and that tripin does not read, with what to do
_UV_NOT_FOLLOWED = {
    "constraint-dependencies": "pass them in a constraints file (tripin lock -c FILE)",
    "override-dependencies": "tripin has no overrides: fix the requirement, or lock from a requirements file",
    "dev-dependencies": "move them to [dependency-groups] dev and name the group in [tool.tripin] groups",
    "find-links": "tripin locks from indexes only: serve those files as an index",
    "prerelease": "set prerelease = true in [tool.tripin], or pass --pre",
    "exclude-newer": "set exclude-newer in [tool.tripin], or pass --exclude-newer",
    "index-strategy": "tripin takes each name from the first index that has it (uv's first-index)",
    "no-binary": "tripin locks wheels only",
}
_PIPTOOLS_NOT_FOLLOWED = {
    "find-links": "tripin locks from indexes only: serve those files as an index",
    "pre": "set prerelease = true in [tool.tripin], or pass --pre",
    "constraint": "pass the file to tripin lock -c FILE",
    "trusted-host": "tripin always verifies TLS: give the host's CA bundle in TRIPIN_CERT",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignIndex:
    name: str  # the name tripin knows it by: uv's, or `uv:NAME` / `uv:N` (see _RESERVED)
    url: str
    explicit: bool  # uv's explicit = true: only for the names pinned to it
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignSettings:
    named: tuple[ForeignIndex, ...] = ()  # [[tool.uv.index]] but the default one, in order
    extras: tuple[tuple[str, str], ...] = ()  # (url, where): uv's extra-index-url, then pip-tools'
    default: tuple[str, str] | None = None  # (url, where)
    pins: Mapping[NormalizedName, str] = field(default_factory=dict)  # name -> index name above, or "default"
    warnings: tuple[str, ...] = ()
    # the tables read, as they are: part of the lock's pyproject digest (`check` sees an edit)
    read: Mapping[str, Any] = field(default_factory=dict)


def read_foreign(data: Mapping[str, Any], where: str) -> ForeignSettings:
    """The index settings of [tool.uv] and [tool.pip-tools] in a parsed pyproject.toml."""
    tools = data.get("tool")
    uv = tools.get("uv") if isinstance(tools, dict) else None
    piptools = tools.get("pip-tools") if isinstance(tools, dict) else None
    uv = _table(uv, f"{where}: [tool.uv]")
    piptools = _table(piptools, f"{where}: [tool.pip-tools]")
    warnings: list[str] = []
    named, default, names = _uv_indexes(uv, where)
    extras = [(u, f"{where} [tool.uv] extra-index-url") for u in _urls(uv, "extra-index-url", f"{where} [tool.uv]")]
    if default is None and (url := _url(uv, "index-url", f"{where} [tool.uv]")) is not None:
        default = (url, f"{where} [tool.uv] index-url")
    pip_where = f"{where} [tool.pip-tools]"
    extras += [
        (u, f"{pip_where} extra-index-url")
        for key in ("extra-index-url", "extra_index_url")
        for u in _urls(piptools, key, pip_where)
    ]
    for key in ("index-url", "index_url"):
        if default is None and (url := _url(piptools, key, pip_where)) is not None:
            default = (url, f"{pip_where} {key}")
    pins = _uv_pins(uv.get("sources", {}), names, where, warnings)
    warnings += _not_followed(uv, "[tool.uv]", _UV_NOT_FOLLOWED, where)
    warnings += _not_followed(piptools, "[tool.pip-tools]", _PIPTOOLS_NOT_FOLLOWED, where)
    read = {
        key: value
        for key, value in (
            ("tool.uv", {k: uv[k] for k in ("index", "index-url", "extra-index-url", "sources") if k in uv}),
            (
                "tool.pip-tools",
                {k: v for k, v in piptools.items() if k.replace("_", "-") in ("index-url", "extra-index-url")},
            ),
        )
        if value
    }
    return ForeignSettings(
        named=tuple(named), extras=tuple(extras), default=default, pins=pins, warnings=tuple(warnings), read=read
    )


def _table(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _uv_indexes(uv: Mapping[str, Any], where: str) -> tuple[list[ForeignIndex], tuple[str, str] | None, dict[str, str]]:
    """[[tool.uv.index]] in order, the default one (default = true) apart, and uv's name of each
    -> tripin's. A flat index (`format = "flat"`, a find-links page) is refused: tripin reads
    the simple API only, and a name pinned to it would otherwise come from PyPI."""
    entries = uv.get("index", [])
    at = f"{where}: [[tool.uv.index]]"
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{at} must be tables with name and url")
    named: list[ForeignIndex] = []
    default: tuple[str, str] | None = None
    names: dict[str, str] = {}
    for i, entry in enumerate(entries):
        uv_name, url = entry.get("name"), entry.get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{at}[{i}].url must be a URL string")
        if uv_name is not None and (not isinstance(uv_name, str) or not _UV_NAME.fullmatch(uv_name)):
            raise ConfigError(f"{at}[{i}].name {quote(uv_name)} must be letters, digits, '.', '_' or '-'")
        if entry.get("format", "simple") != "simple":
            raise ConfigError(
                f"{at}[{i}]: format {quote(entry['format'])}: tripin reads simple-API "
                "indexes only; serve those files as an index"
            )
        flags = {k: entry.get(k, False) for k in ("explicit", "default")}
        if not all(isinstance(v, bool) for v in flags.values()):
            raise ConfigError(f"{at}[{i}]: explicit and default must be true or false")
        if uv_name in names:
            raise ConfigError(f"{at}: two indexes are named {quote(uv_name)}; a source must name one index")
        if flags["default"]:
            default = (url, f"{where} [[tool.uv.index]] {uv_name or i} (default = true)")
            name = "default"
        else:
            name = uv_name if uv_name and not RESERVED_INDEX.fullmatch(uv_name) else f"uv:{uv_name or i}"
            named.append(
                ForeignIndex(name=name, url=url, explicit=flags["explicit"], source=f"{where} [[tool.uv.index]]")
            )
        if uv_name:
            names[uv_name] = name
    return named, default, names


def _uv_pins(sources: object, names: Mapping[str, str], where: str, warnings: list[str]) -> dict[NormalizedName, str]:
    """[tool.uv.sources] NAME = { index = "..." }: NAME is read from that index alone, as uv
    reads it. A source of another kind (git, path, url, workspace) or with conditions (a
    marker, extra or group; a list of sources) is not followed: said in a warning."""
    at = f"{where}: [tool.uv.sources]"
    if not isinstance(sources, dict):
        raise ConfigError(f"{at} must be a table")
    pins: dict[NormalizedName, str] = {}
    for package, source in sources.items():
        try:
            name = canonicalize_name(package, validate=True)
        except InvalidName:
            raise ConfigError(f"{at}: {quote(package)} is not a package name") from None
        if isinstance(source, dict) and set(source) == {"index"} and isinstance(source["index"], str):
            if source["index"] not in names:
                raise ConfigError(
                    f"{at} {package} names index {quote(source['index'])}, which no [[tool.uv.index]] defines"
                )
            pins[name] = names[source["index"]]
            continue
        kinds = [k for k in ("git", "path", "url", "workspace") if isinstance(source, dict) and k in source]
        what = (
            f"a {kinds[0]} source"
            if kinds
            else "a list of sources"
            if isinstance(source, list)
            else "a source with conditions"
        )
        if name in VARIANT_FAMILY and not kinds:  # uv's way to take torch's build per platform
            advice = (
                "give tripin a variant target per platform instead (linux-x86_64-cp312-cu128 takes torch and "
                "Triton from PyTorch's /cu128 index; macos-arm64-cp312 from PyPI)"
            )
        else:
            advice = "pin it to one index with { index = NAME }, or lock from a requirements file"
        warnings.append(
            f"{at} {package}: {what} is not followed by tripin, which locks {package} from its indexes; {advice}"
        )
    return pins


def _not_followed(table: Mapping[str, Any], title: str, known: Mapping[str, str], where: str) -> list[str]:
    out = []
    for key, hint in known.items():
        value = table.get(key, table.get(key.replace("-", "_")))
        if value in (None, [], False, "") or (key == "index-strategy" and value == "first-index"):
            continue
        out.append(f"{where}: {title} {key} is not read by tripin: {hint}")
    if table.get("no-index") or table.get("no_index"):
        raise ConfigError(
            f"{where}: {title} no-index: tripin resolves from package indexes only; remove it, and serve the "
            "files as an index"
        )
    return out


def _url(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} {key} must be a URL string")
    return value


def _urls(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} {key} must be a URL string or a list of them")
    return value
