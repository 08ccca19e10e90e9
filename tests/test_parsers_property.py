"""Every parser of outside input raises tripin's own error type or nothing, whatever it is fed."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tripin.check import check_files
from tripin.errors import TripinError
from tripin.index.metadata import parse_metadata
from tripin.index.models import Index
from tripin.index.simple import parse_html_page, parse_json_page
from tripin.lock.pylock import read_pylock
from tripin.reqfile import parse_requirements_file
from tripin.rules import load_ruleset

INDEX = Index(name="t", url="https://example.org/simple")
URL = "https://example.org/simple/p/"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
file_entries = st.fixed_dictionaries(
    {"filename": st.sampled_from(["p-1.0.tar.gz", "p-1.0-py3-none-any.whl", "bad", "p-x-py3-none-any.whl"])},
    optional={
        "url": st.text(max_size=30),
        "hashes": json_values,
        "requires-python": json_values,
        "yanked": json_values,
        "core-metadata": json_values,
        "size": json_values,
    },
)
pages = st.fixed_dictionaries(
    {
        "meta": st.fixed_dictionaries({"api-version": st.sampled_from(["1.0", "1.1", "2.0", ""])}),
        "files": st.lists(file_entries | json_values, max_size=4),
    }
)
lines = st.lists(
    st.sampled_from(
        [
            "torch==2.6.0",
            "triton==3.2.0+git23753f4f",
            "triton @ git+https://github.com/x/y@abcdef0#egg=triton",
            "-r",
            "-c other.txt",
            "--hash=sha256:00",
            "\\",
            "#",
            "; python_version >= '3.9'",
            "==",
            "@",
            "[",
            "]",
            " ",
            "torch===2.6",
            "-e .",
            "--index-url x",
            "numpy>=1 ; sys_platform == 'linux' --hash=sha256:ab",
        ]
    ),
    max_size=8,
)


def _only_ours(call: object) -> None:
    with contextlib.suppress(TripinError):
        call()  # type: ignore[operator]


@SETTINGS
@given(pages | json_values)
def test_json_pages(page: object) -> None:
    _only_ours(lambda: parse_json_page(json.dumps(page).encode(), URL, INDEX))


@SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_raw_bytes_as_json_and_html(body: bytes) -> None:
    _only_ours(lambda: parse_json_page(body, URL, INDEX))
    _only_ours(lambda: parse_html_page(body, URL, INDEX))


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "base"]),
            st.dictionaries(
                st.sampled_from(
                    ["href", "data-requires-python", "data-yanked", "data-core-metadata", "data-dist-info-metadata"]
                ),
                st.text(max_size=25) | st.none(),
                max_size=4,
            ),
        ),
        max_size=5,
    )
)
def test_html_anchors(anchors: list[tuple[str, dict[str, str | None]]]) -> None:
    html = "".join(
        f"<{tag} " + " ".join(k if v is None else f'{k}="{v}"' for k, v in attrs.items()) + ">x</a>"
        for tag, attrs in anchors
    )
    _only_ours(lambda: parse_html_page(html.encode(), URL, INDEX))


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(["Name", "Version", "Requires-Dist", "Requires-Python", "X"]), st.text(max_size=30)),
        max_size=6,
    )
    | st.binary(max_size=200).map(lambda b: [("raw", b)])
)
def test_core_metadata(fields: list[tuple[str, object]]) -> None:
    if fields and fields[0][0] == "raw":
        data = fields[0][1]
        assert isinstance(data, bytes)
    else:
        data = "".join(f"{k}: {v}\n" for k, v in fields).encode("utf-8", "surrogatepass")
    _only_ours(lambda: parse_metadata(data, "x.metadata"))


@SETTINGS
@given(lines, lines)
def test_requirements_files(main: list[str], other: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "r.txt").write_text("\n".join(main))
        (root / "other.txt").write_text("\n".join(other))
        _only_ours(lambda: parse_requirements_file(root / "r.txt"))
        _only_ours(lambda: check_files([root / "r.txt"], load_ruleset(validate=False)))


toml_values = st.recursive(
    st.booleans() | st.integers() | st.text(max_size=15),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _toml(data: dict[str, object]) -> str:
    import tomlkit

    return tomlkit.dumps(data)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["lock-version", "environments", "packages", "tool", "x"]), toml_values, max_size=4
    ),
    st.lists(
        st.dictionaries(
            st.sampled_from(["name", "version", "marker", "vcs", "wheels", "tool"]), toml_values, max_size=5
        ),
        max_size=3,
    ),
)
def test_pylock_files(top: dict[str, object], packages: list[dict[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pylock.toml"
        path.write_text(_toml({**top, "packages": packages}))
        _only_ours(lambda: read_pylock(path))
        _only_ours(lambda: check_files([path], load_ruleset(validate=False)))


@SETTINGS
@given(
    st.sampled_from(["pin", "build", "recipe", "companion", "bad", "good", "probe", "other"]),
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "torch",
                    "marker",
                    "package",
                    "version",
                    "requires",
                    "provides",
                    "source",
                    "commit",
                    "status",
                    "repository",
                    "versions",
                    "subdirectory",
                    "env",
                    "any-of",
                    "commits",
                    "triton",
                    "fix",
                ]
            ),
            toml_values,
            max_size=8,
        ),
        max_size=3,
    ),
)
def test_rules_files(kind: str, tables: list[dict[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.toml"
        path.write_text(_toml({"schema": 1, kind: tables}))
        _only_ours(lambda: load_ruleset([path]))
