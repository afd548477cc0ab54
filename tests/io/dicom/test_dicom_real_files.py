"""Scanner-made files shipped with pydicom: transfer syntaxes, compression, truncation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.dicom import read_series_volume, scan_folder

pydicom = pytest.importorskip("pydicom")
FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _one(tmp_path: Path, name: str):
    if not (FILES / name).exists():
        pytest.skip(f"pydicom does not ship {name}")
    shutil.copy(FILES / name, tmp_path / "IMG")  # no extension, as in many PACS exports
    return scan_folder(tmp_path).series[0]


@pytest.mark.parametrize(
    "name",
    ["MR_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm"],
)
def test_pixels_match_pydicom_in_every_encoding(tmp_path, name):
    series = _one(tmp_path, name)
    volume = read_series_volume(series)
    reference = pydicom.dcmread(FILES / name).pixel_array.astype(np.float32)
    assert volume.shape == (64, 64, 1)
    # one axial slice: x runs along columns (flipped to R), y along rows (flipped to A)
    ds = pydicom.dcmread(FILES / name)
    rows_to_a = ds.ImageOrientationPatient[4] < 0
    cols_to_r = ds.ImageOrientationPatient[0] < 0
    expected = reference[:: -1 if not rows_to_a else 1, :: -1 if not cols_to_r else 1].T
    np.testing.assert_array_equal(volume.data[:, :, 0], expected)
    assert volume.voxel_size[2] == pytest.approx(float(ds.SliceThickness))


def test_truncated_file_is_one_clear_error(tmp_path):
    series = _one(tmp_path, "MR_truncated.dcm")
    with pytest.raises(InputError, match=r"has truncated pixel data \(8130 bytes, 8192 expected\)"):
        read_series_volume(series)


def test_a_missing_codec_names_the_plugins(tmp_path):
    series = _one(tmp_path, "MR_small_jpeg_ls_lossless.dcm")
    try:
        volume = read_series_volume(series)
    except InputError as exc:  # no JPEG-LS plugin installed: the message names the options
        assert "JPEG-LS Lossless" in str(exc) and "cannot be decoded here" in str(exc)
        assert "pylibjpeg" in str(exc)
    else:  # a plugin is installed: the pixels decode
        assert volume.shape == (64, 64, 1)
