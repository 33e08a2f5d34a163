"""Shared geometry of the built-in engines: camera paths, perspective warps, compiled kernels."""
