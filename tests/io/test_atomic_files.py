"""Atomic writes: the old file or the new one, whole; never a clobbered name."""

from __future__ import annotations

from pathlib import Path

import pytest

from corebt_viewer.io.atomic_files import atomic_write_bytes


def test_atomic_write_without_overwrite_never_clobbers(tmp_path: Path):
    target = tmp_path / "x.bin"
    atomic_write_bytes(target, b"first", overwrite=False)
    with pytest.raises(FileExistsError):
        atomic_write_bytes(target, b"second", overwrite=False)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]  # no temporary left
