"""`-auto` targets: the PyTorch build variant this machine can run, as uv's --torch-backend auto
picks it: CUDA from the driver (nvidia-smi), else ROCm (rocminfo or /opt/rocm/.info/version),
else CPU. Only the command line calls this; everything else takes targets as data."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["detect_variant"]


def _run(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return ""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


# The CUDA builds PyTorch publishes (download.pytorch.org/whl/<variant>; the install matrix of
# https://pytorch.org/get-started/previous-versions/). A driver runs builds of its CUDA version
# and older ones, and nvidia-smi reports the newest it supports (12.7, 13.1), which is rarely one
# PyTorch builds for: the newest build at or below it is the one to take.
CUDA_BUILDS = ((11, 8), (12, 1), (12, 4), (12, 6), (12, 8), (12, 9), (13, 0))


def detect_variant() -> tuple[str, str]:
    """(variant, why): why names what was read, for the summary and -v."""
    smi = _run(["nvidia-smi"])
    cuda = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", smi)
    if cuda:
        driver = (int(cuda[1]), int(cuda[2]))
        runs = [b for b in CUDA_BUILDS if b <= driver]
        if not runs:
            return "cpu", f"nvidia-smi reports CUDA {cuda[1]}.{cuda[2]}, older than any PyTorch CUDA build"
        major, minor = runs[-1]
        return (
            f"cu{major}{minor}",
            f"nvidia-smi reports CUDA {cuda[1]}.{cuda[2]}: the newest PyTorch CUDA build it runs",
        )
    rocm_file = Path("/opt/rocm/.info/version")
    text = rocm_file.read_text(errors="replace") if rocm_file.is_file() else ""
    rocm = re.match(r"(\d+)\.(\d+)", text) or re.search(r"ROCm.*?(\d+)\.(\d+)", _run(["rocminfo"]))
    if rocm:
        return f"rocm{rocm[1]}.{rocm[2]}", f"ROCm {rocm[1]}.{rocm[2]} is installed"
    return "cpu", "no NVIDIA driver and no ROCm found"
