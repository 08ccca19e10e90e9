"""Shared fixtures: a local package index over the recorded PyPI data, and wheels.

* ``index_server``: session-scoped :class:`~indexserver.IndexServer` over ``tests/index``.
* ``index``: the same server, with faults, run-time additions and the request log
  cleared before each test; use this one in tests.
* ``make_index``: factory for extra servers (own port) over a fresh or given directory.
* ``build_wheel`` (plain function, also importable from ``indexserver``) and the
  ``wheel_factory`` fixture that binds it to the test's ``tmp_path``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from indexserver import IndexServer, build_wheel  # noqa: E402

INDEX_ROOT = TESTS / "index"
TORCH_TRITON = 'triton==3.2.0; platform_system == "Linux" and platform_machine == "x86_64"'

__all__ = ["INDEX_ROOT", "IndexServer", "build_wheel"]


@pytest.fixture(scope="session")
def index_server() -> Iterator[IndexServer]:
    """The recorded index (tests/index) served on 127.0.0.1 for the whole session."""
    server = IndexServer(INDEX_ROOT).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def index(index_server: IndexServer) -> Iterator[IndexServer]:
    """The session index, clean: no faults, no run-time additions, empty request log."""
    index_server.reset_all()
    yield index_server
    index_server.reset_all()


@pytest.fixture
def make_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., IndexServer]]:
    """Start extra index servers: ``make_index()`` over a fresh empty directory (with
    ``simple/`` and ``files/``), or ``make_index(root)`` over a given one.  Each runs on
    its own free port and is stopped at the end of the test."""
    started: list[IndexServer] = []

    def factory(root: Path | None = None, **kw: Any) -> IndexServer:
        if root is None:
            root = tmp_path_factory.mktemp("index")
        (root / "simple").mkdir(parents=True, exist_ok=True)
        (root / "files").mkdir(parents=True, exist_ok=True)
        server = IndexServer(root, **kw).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def pytorch(make_index: object, tmp_path: Path) -> IndexServer:
    """A PyTorch-style variant index (URL/<variant>/<name>/) with stand-in wheels named and
    described as the real ones: torch 2.6.0+cu126 for x86_64 (requires triton) and aarch64
    (no Triton wheel for aarch64: the rules' source build), +cpu, +rocm6.2.4."""
    server: IndexServer = make_index()  # type: ignore[operator]
    wheels = tmp_path / "pytorch-wheels"
    x86, arm = "cp312-cp312-manylinux_2_28_x86_64", "cp312-cp312-manylinux_2_28_aarch64"
    server.add_variant_wheel(
        "cu126", build_wheel(wheels, "torch", "2.6.0+cu126", x86, requires_dist=["filelock", TORCH_TRITON])
    )
    server.add_variant_wheel("cu126", build_wheel(wheels, "torch", "2.6.0+cu126", arm, requires_dist=["filelock"]))
    server.add_variant_wheel(
        "cu126", build_wheel(wheels, "triton", "3.2.0", "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64")
    )
    server.add_variant_wheel("cpu", build_wheel(wheels, "torch", "2.6.0+cpu", x86, requires_dist=["filelock"]))
    server.add_variant_wheel(
        "rocm6.2",
        build_wheel(
            wheels,
            "torch",
            "2.6.0+rocm6.2.4",
            x86,
            requires_dist=[
                "filelock",
                'pytorch-triton-rocm==3.2.0; platform_system == "Linux" and platform_machine == "x86_64"',
            ],
        ),
    )
    server.add_variant_wheel("rocm6.2", build_wheel(wheels, "pytorch-triton-rocm", "3.2.0", x86))
    return server


@pytest.fixture
def wheel_factory(tmp_path: Path) -> Callable[..., Path]:
    """``wheel_factory(name, version, tag=..., requires_dist=(), files={})`` -> wheel path."""
    out = tmp_path / "wheels"

    def factory(name: str, version: str, *args: Any, **kw: Any) -> Path:
        return build_wheel(out, name, version, *args, **kw)

    return factory


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory with no PIP_*, UV_* or TRIPIN_* variable of this machine's."""
    import os

    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_", "TRIPIN_")):
            monkeypatch.delenv(key)
    return tmp_path
