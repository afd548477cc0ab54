"""Mask versions: saved beside the original in its layout, atomic under SIGKILL, recovery."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.segmentation import LabelConvention
from corebt_viewer.io import mask_versions as mv
from corebt_viewer.io.atomic_files import remove_stale_temporaries

REAL_SEG = "TCGA-DU-7294_seg_fusion_mav.nii.gz"  # the real_seg fixture's (tests/io/conftest.py)
WRITER = Path(__file__).with_name("_mask_writer.py")
REPO = Path(__file__).resolve().parents[2]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version_keeps_original_layout(real_seg: Path):
    before = sha(real_seg)
    seg = mv.read_mask(real_seg)
    assert seg.convention is LabelConvention.BRATS_2021
    labels = seg.labels.copy()
    labels[100:110, 100:110, 70:80] = 3  # paint enhancing tumour (label 4 on disk)

    saved = mv.save_version(labels, original=real_seg)

    assert saved.version.path.name == "TCGA-DU-7294_seg_fusion_mav.v001.nii.gz"
    assert saved.sha256 == sha(saved.version.path)
    assert sha(real_seg) == before  # original untouched
    orig, new = nib.load(real_seg), nib.load(saved.version.path)
    np.testing.assert_array_equal(new.affine, orig.affine)
    assert new.get_data_dtype() == orig.get_data_dtype()
    assert nib.aff2axcodes(new.affine) == ("L", "P", "S")
    assert int(new.header["sform_code"]) == int(orig.header["sform_code"])
    assert int(new.header["qform_code"]) == int(orig.header["qform_code"])
    on_disk = np.asanyarray(new.dataobj)
    assert set(np.unique(on_disk)) == {0, 1, 2, 4}  # BraTS 2021 labels, not canonical 3
    # Only the painted box differs from the original, in the file's own voxel order.
    changed = on_disk != np.asanyarray(orig.dataobj)
    assert changed.sum() == np.count_nonzero(labels != seg.labels)
    np.testing.assert_array_equal(mv.read_mask(saved.version.path).labels, labels)


def test_versions_are_numbered_listed_and_made_current(real_seg: Path):
    seg = mv.read_mask(real_seg)
    first = seg.labels.copy()
    first[first == 2] = 0
    second = seg.labels.copy()
    second[120, 120, 80] = 1
    v1 = mv.save_version(first, original=real_seg).version
    v2 = mv.save_version(second, original=real_seg).version
    assert [v.label for v in mv.list_versions(real_seg)] == ["original", "v001", "v002"]
    assert mv.current_version(real_seg) == v2

    assert mv.set_current_version(real_seg, v1) == v1
    assert mv.current_version(real_seg).path == v1.path
    np.testing.assert_array_equal(mv.read_mask(mv.current_version(real_seg).path).labels, first)

    assert mv.set_current_version(real_seg, None).is_original
    assert mv.current_version(real_seg).is_original
    with pytest.raises(InputError):
        mv.set_current_version(real_seg, real_seg.with_name("elsewhere.nii.gz"))


def test_reoriented_int16_brats2023_uncompressed(tmp_path: Path, rng):
    """A RAS-flipped, int16, label-3, uncompressed original keeps all of that."""
    data = np.zeros((12, 10, 8), dtype=np.int16)
    data[3:6, 2:5, 1:4] = 3
    data[6:8, 4:7, 2:5] = 2
    affine = np.array([[0, 0, -2.0, 50], [1.5, 0, 0, -10], [0, 1.2, 0, 5], [0, 0, 0, 1]])
    original = tmp_path / "case_seg.nii"
    nib.save(nib.Nifti1Image(data, affine), original)

    seg = mv.read_mask(original)
    assert seg.convention is LabelConvention.BRATS_2023
    labels = seg.labels.copy()
    labels[rng.random(labels.shape) < 0.1] = 1
    saved = mv.save_version(labels, original=original)

    assert saved.version.path.name == "case_seg.v001.nii"
    img = nib.load(saved.version.path)
    assert img.get_data_dtype() == np.int16
    np.testing.assert_allclose(img.affine, affine)
    on_disk = np.asanyarray(img.dataobj)
    assert set(np.unique(on_disk)) <= {0, 1, 2, 3}
    untouched = ~np.isin(on_disk, [1])
    np.testing.assert_array_equal(on_disk[untouched], data[untouched])
    np.testing.assert_array_equal(mv.read_mask(saved.version.path).labels, labels)


def test_new_mask_uses_image_grid(real_mri_dir: Path, tmp_path: Path):
    image = tmp_path / "TCGA-DU-7294_t1_bet.nii.gz"
    shutil.copyfile(real_mri_dir / image.name, image)
    labels = np.zeros((240, 240, 155), dtype=np.uint8)
    labels[50:60, 60:70, 70:80] = 2
    original = tmp_path / "TCGA-DU-7294_seg.nii.gz"  # does not exist yet

    with pytest.raises(InputError):
        mv.save_version(labels, original=original)
    saved = mv.save_version(labels, original=original, reference=image)

    img = nib.load(saved.version.path)
    assert img.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(img.affine, nib.load(image).affine)
    assert [v.label for v in mv.list_versions(original)] == ["v001"]
    np.testing.assert_array_equal(mv.read_mask(saved.version.path).labels, labels)


def test_wrong_shape_and_bad_files_are_input_errors(real_seg: Path, tmp_path: Path):
    with pytest.raises(InputError, match="does not match"):
        mv.save_version(np.zeros((10, 10, 10), np.uint8), original=real_seg)
    broken = tmp_path / "broken_seg.nii.gz"
    broken.write_bytes(b"not a nifti at all")
    with pytest.raises(InputError) as info:
        mv.read_mask(broken)
    assert info.value.path == broken
    assert mv.list_versions(real_seg)[-1].is_original  # nothing was written


def _start_writer(mode: str, original: Path, dest: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), mode, str(original), str(dest), "1", "2"],
        stdout=subprocess.PIPE,
        env=env,
    )
    line = proc.stdout.readline()
    assert line.strip() == b"ready", "writer process failed to start"
    return proc


def _expected_masks(shape):
    return [
        np.random.default_rng(seed).integers(0, 4, size=shape, dtype=np.uint8) for seed in (1, 2)
    ]


def _matches_one(labels: np.ndarray, masks) -> bool:
    return any(np.array_equal(labels, m) for m in masks)


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def _kill(proc: subprocess.Popen, folder: Path, *, delay: float | None) -> bool:
    """SIGKILL the writer after `delay` s, or (None) the moment a temporary file appears.

    Returns True when the kill landed mid-write (the temporary file is left behind).
    """
    if delay is not None:
        time.sleep(delay)
    else:
        deadline = time.monotonic() + 30
        while not _temporaries(folder) and time.monotonic() < deadline:
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    left = _temporaries(folder)
    for tmp in left:
        tmp.unlink()
    return bool(left)


def _kill_during_saves(real_seg: Path, kills: int, seed: int) -> None:
    folder = real_seg.parent
    original_sha = sha(real_seg)
    original_affine = nib.load(real_seg).affine.copy()
    masks = _expected_masks(nib.load(real_seg).shape)
    dest = real_seg.with_name("TCGA-DU-7294_seg_fusion_mav.v001.nii.gz")
    # Kills the moment a temporary file shows (retried: on a very fast disk the write window
    # may be missed), then kills at random moments.
    delays = [None] * 5 + list(np.random.default_rng(seed).uniform(0.05, 1.2, size=kills - 1))
    mid_write = 0
    for delay in delays:
        if delay is None and mid_write:
            continue
        proc = _start_writer("overwrite", real_seg, dest)
        mid_write += _kill(proc, folder, delay=delay)
        img = nib.load(dest)  # loads whole
        np.testing.assert_array_equal(img.affine, original_affine)
        assert _matches_one(mv.read_mask(dest).labels, masks)
    assert mid_write >= 1, "no kill landed while a file was being written"

    # Numbered versions: kill a save loop mid-write; every version that exists is complete.
    proc = _start_writer("versions", real_seg, dest)
    _kill(proc, folder, delay=None)
    versions = mv.list_versions(real_seg)
    assert len(versions) >= 2
    for version in versions[1:]:
        assert _matches_one(mv.read_mask(version.path).labels, masks)
    assert sha(real_seg) == original_sha
    np.testing.assert_array_equal(nib.load(real_seg).affine, original_affine)


def test_stale_temporaries_are_hidden_and_cleaned(real_seg: Path):
    stale = real_seg.with_name(f".{real_seg.name}.abc123.tmp")
    stale.write_bytes(b"half a file")
    assert all(v.path != stale for v in mv.list_versions(real_seg))
    assert remove_stale_temporaries(real_seg.parent, older_than_s=3600) == []
    assert remove_stale_temporaries(real_seg.parent, older_than_s=-1) == [stale]


def test_sigkill_during_save_leaves_old_or_new_file_whole(real_seg: Path):
    """A real SIGKILL while a large mask is being written (the temporary file exists) and
    at a random moment: the destination is always the old or the new file, whole."""
    _kill_during_saves(real_seg, kills=2, seed=7)


@pytest.mark.slow
def test_many_sigkills_during_save(real_seg: Path):
    _kill_during_saves(real_seg, kills=15, seed=11)
