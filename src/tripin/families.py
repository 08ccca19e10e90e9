"""The torch family: names whose wheels run code inside torch, so that each must come from one
index only, and what a variant target takes from PyTorch's own index. A module of its own so
that the settings (uv's sources) and the index client read one list."""

from __future__ import annotations

__all__ = ["TORCH_FAMILY", "VARIANT_FAMILY"]

# names whose wheels run code inside torch: each must come from one index only
TORCH_FAMILY = frozenset(
    {
        "torch",
        "torchvision",
        "torchaudio",
        "triton",
        "torchtriton",
        "pytorch-triton",
        "pytorch-triton-rocm",
        "pytorch-triton-xpu",
    }
)
# what a variant target takes from its PyTorch index alone
VARIANT_FAMILY = TORCH_FAMILY | {"pytorch-triton-rocm", "pytorch-triton-xpu"}
