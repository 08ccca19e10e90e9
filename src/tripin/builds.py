"""GPU or CPU: whether a torch build can use Triton, read from the build's own data.

Inductor on CPU generates C++, so only a GPU build (CUDA, ROCm, XPU) imports Triton. A build
from PyTorch's index says which it is in its local label (`+cu126`, `+cpu`); a PyPI wheel has no
label, and its metadata says it: a CUDA build requires `nvidia-*` libraries on its platform.
PyPI's Linux aarch64 torch 2.0-2.10 requires them on x86_64 only: CPU builds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = ["cpu_note", "is_gpu_build", "platform_note"]

_TRITONS = frozenset({"triton", "pytorch-triton", "pytorch-triton-rocm", "pytorch-triton-xpu"})
_CUDA = frozenset({"cuda-toolkit", "cuda-bindings"})  # torch 2.11's metadata requires these besides nvidia-*


def is_gpu_build(requires: Iterable[Requirement], environments: Sequence[Mapping[str, str]]) -> bool:
    """Whether a torch wheel is a GPU build on a platform: an `nvidia-*` (CUDA libraries) or a
    Triton requirement of its metadata applies in one of `environments`."""
    for req in requires:
        name = canonicalize_name(req.name)
        gpu_library = name.startswith("nvidia-") or name in _TRITONS or name in _CUDA
        if gpu_library and (
            req.marker is None or any(req.marker.evaluate({**env, "extra": ""}) for env in environments)
        ):
            return True
    return False


def cpu_note(target: str, torch: str, machine: str) -> str:
    """Why a target gets no Triton, and the target that gives CUDA torch on that machine."""
    base = target.rsplit("-", 1)[0] if target.count("-") >= 3 else target
    return (
        f"{target}: no Triton: torch {torch} from PyPI is a CPU build on {machine} (its metadata requires no "
        f"nvidia-* package there) and never uses Triton; for CUDA torch lock a variant target such as "
        f"{base}-cu126 (from PyTorch's index; pick a CUDA version PyTorch builds torch {torch} for), "
        f"or {base}-auto on the machine itself"
    )


_NO_TRITON_OS = {"macos": "macOS", "windows": "Windows"}


def platform_note(target: str, os: str, torch: str | None) -> str | None:
    """Why a macOS or Windows target has no Triton, whatever its torch: PyTorch builds no Triton
    there, and torch's metadata names triton behind a Linux marker (x86_64, and aarch64 from 2.11),
    so no installer takes one; None on the platforms where the lock decides it."""
    system = _NO_TRITON_OS.get(os)
    if system is None:
        return None
    which = f"torch {torch}" if torch else "torch"
    return (
        f"{target}: no Triton: PyTorch builds no Triton for {system} (torch's metadata requires triton on "
        f"Linux only), and {which} there never uses one"
    )
