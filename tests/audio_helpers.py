"""Shared by the convolver tests: running an input stream through a convolver block by block."""

from __future__ import annotations

import numpy as np

from naf_model.audio import PartitionedConvolver


def stream(conv: PartitionedConvolver, x: np.ndarray, posts: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Run (frames, C) input through `conv` block by block (zero-padded to whole blocks), posting
    `posts[i]` before block i: (frames', 2)."""
    b = conv.block_size
    n_blocks = -(-len(x) // b)
    padded = np.zeros((n_blocks * b, x.shape[1]))
    padded[: len(x)] = x
    out = np.zeros((n_blocks * b, 2))
    for i in range(n_blocks):
        if posts and i in posts:
            conv.post(posts[i])
        conv.process(padded[i * b : (i + 1) * b], out[i * b : (i + 1) * b])
    return out
