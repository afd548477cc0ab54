"""Helper process for the kill-during-save test: saves masks in a loop until killed.

Usage: python _mask_writer.py MODE ORIGINAL DEST SEED_A SEED_B
MODE "overwrite" rewrites DEST alternately with masks A and B; MODE "versions" keeps saving
new numbered versions of ORIGINAL. Prints "ready" once the first write is done.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from corebt_viewer.io.atomic_files import atomic_write_bytes
from corebt_viewer.io.mask_versions import encode_mask_like, read_mask


def random_labels(shape, seed):
    return np.random.default_rng(seed).integers(0, 4, size=shape, dtype=np.uint8)


def main() -> None:
    mode, original, dest, seed_a, seed_b = sys.argv[1:6]
    shape = read_mask(original).labels.shape
    masks = [random_labels(shape, int(seed_a)), random_labels(shape, int(seed_b))]
    i = 0
    while True:
        labels = masks[i % 2]
        if mode == "overwrite":
            atomic_write_bytes(Path(dest), encode_mask_like(labels, original))
        else:
            from corebt_viewer.io.mask_versions import save_version

            save_version(labels, original=original)
        if i == 0:
            print("ready", flush=True)
        i += 1


if __name__ == "__main__":
    main()
