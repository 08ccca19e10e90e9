"""tripin: lock PyTorch environments with the Triton build each torch release needs."""

__version__ = "0.1.0"
