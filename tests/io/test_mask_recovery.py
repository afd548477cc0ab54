"""Crash recovery of unsaved mask edits: the hidden autosave file beside the mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.io import mask_recovery as mr
from corebt_viewer.io import mask_versions as mv


def test_recovery_round_trip(real_seg: Path, tmp_path: Path):
    assert mr.find_recovery(real_seg) is None
    labels = mv.read_mask(real_seg).labels.copy()
    labels[10:20, 10:20, 10:20] = 3
    path = mr.write_recovery(labels, original=real_seg, base=real_seg)
    assert path.name.startswith(".")  # hidden beside the original

    found = mr.find_recovery(real_seg)
    assert found is not None and found.base == real_seg.name
    np.testing.assert_array_equal(found.labels, labels)
    labels[0, 0, 0] = 1  # a later autosave replaces the earlier one
    mr.write_recovery(labels, original=real_seg)
    np.testing.assert_array_equal(mr.find_recovery(real_seg).labels, labels)

    assert mr.discard_recovery(real_seg)
    assert mr.find_recovery(real_seg) is None
    assert not mr.discard_recovery(real_seg)
    # Elsewhere (read-only data folders): the same API with a directory.
    mr.write_recovery(labels, original=real_seg, directory=tmp_path / "recovery")
    assert mr.find_recovery(real_seg) is None
    assert mr.find_recovery(real_seg, directory=tmp_path / "recovery") is not None


def test_saved_versions_are_fsynced_and_the_autosave_is_not(real_seg: Path, monkeypatch):
    import os

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    labels = mv.read_mask(real_seg).labels.copy()
    mr.write_recovery(labels, original=real_seg)
    assert synced == []  # an autosave's fsync stalled the painting UI thread
    labels[5:9, 5:9, 5:9] = 1
    mv.save_version(labels, original=real_seg)
    assert len(synced) >= 2  # the file and its folder


def test_an_unreadable_recovery_file_is_an_error_naming_it(real_seg: Path):
    labels = mv.read_mask(real_seg).labels.copy()
    path = mr.write_recovery(labels, original=real_seg)
    path.write_bytes(path.read_bytes()[:40])  # cut short
    with pytest.raises(InputError, match="autosaved mask edits cannot be read") as info:
        mr.find_recovery(real_seg)
    assert info.value.path == path and path.is_file()
