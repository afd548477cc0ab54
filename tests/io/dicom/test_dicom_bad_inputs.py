"""Bad DICOM folders: one clear message each, naming the folder and series; the rest reads."""

from __future__ import annotations

import numpy as np
import pytest
from _dicom_writer import SECRETS, write_classic

from corebt_viewer.core.errors import InputError
from corebt_viewer.io.dicom import read_series_volume, scan_folder


@pytest.fixture()
def small(sources):
    t1 = sources["t1"]
    return t1.data[:, :, :8], t1.affine


def _good_t2(folder, sources):
    t2 = sources["t2"]
    return write_classic(
        folder / "t2",
        t2.data[:, :, :6],
        t2.affine,
        number=7,
        description="AX T2",
        te=100.0,
        tr=4000.0,
    )


def test_missing_slices_are_named_and_other_series_still_read(tmp_path, small, sources):
    data, affine = small
    uid = write_classic(tmp_path / "t1", data, affine, number=3, description="AX T1", skip={4})
    good = _good_t2(tmp_path, sources)
    scan = scan_folder(tmp_path)
    with pytest.raises(InputError) as err:
        read_series_volume(scan.find(uid))
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 't1'}: series 3 'AX T1' is missing slices")
    assert "gap of 8 mm" in message and "spacing is 4 mm" in message
    assert "about 1 slice(s) missing" in message
    assert read_series_volume(scan.find(good)).shape == (40, 40, 6)


def test_inconsistent_spacing_is_named(tmp_path, small, sources):
    data, affine = small
    lps_z = [0.0, 4.0, 8.0, 12.0, 17.0, 21.0, 25.0, 29.0]
    positions = [[-affine[0, 3], -affine[1, 3], z] for z in lps_z]
    uid = write_classic(
        tmp_path / "t1", data, affine, number=3, description="AX T1", positions=positions
    )
    good = _good_t2(tmp_path, sources)
    scan = scan_folder(tmp_path)
    with pytest.raises(
        InputError,
        match=r"series 3 'AX T1' has inconsistent slice spacing: "
        r"steps from 4 to 5 mm",
    ):
        read_series_volume(scan.find(uid))
    assert read_series_volume(scan.find(good)).shape == (40, 40, 6)


def test_two_volumes_in_one_series_are_refused(tmp_path, small):
    data, affine = small
    uid = write_classic(
        tmp_path / "e1",
        data[:, :, :4],
        affine,
        number=6,
        description="T2 DE",
        name=lambda k: f"a{k}",
    )
    write_classic(
        tmp_path / "e2",
        data[:, :, :4],
        affine,
        uid=uid,
        number=6,
        description="T2 DE",
        name=lambda k: f"b{k}",
    )
    scan = scan_folder(tmp_path)
    with pytest.raises(InputError, match="8 images at only 4 slice positions"):
        read_series_volume(scan.find(uid))


def test_mixed_patients_are_refused_without_showing_who(tmp_path, small, sources):
    data, affine = small
    write_classic(tmp_path / "p1", data, affine, number=3, description="AX T1")
    write_classic(
        tmp_path / "p2",
        data,
        affine,
        number=4,
        description="AX T1",
        patient={"PatientID": "OTHER-ID-424242", "PatientName": "Secondperson^Zz"},
    )
    scan = scan_folder(tmp_path)
    assert scan.n_patients == 2
    with pytest.raises(InputError) as err:
        scan.check_single_patient()
    message = str(err.value)
    assert "holds images of 2 different patients" in message
    assert "patient 1: series 3 'AX T1'; patient 2: series 4 'AX T1'" in message
    for secret in (*SECRETS, "OTHER-ID", "424242", "Secondperson"):
        assert secret not in message
        assert secret not in repr(scan)


def test_truncated_pixel_data_names_the_series(tmp_path, small):
    import pydicom

    data, affine = small
    uid = write_classic(tmp_path, data, affine, number=3, description="AX T1")
    path = tmp_path / "IM0002"
    ds = pydicom.dcmread(path)
    ds.PixelData = ds.PixelData[:100]
    ds.save_as(path)
    with pytest.raises(InputError, match=r"series 3 'AX T1' has truncated pixel data"):
        read_series_volume(scan_folder(tmp_path).find(uid))
    assert np.isfinite(data).all()


def test_truncated_mapped_pixel_data_names_the_series(tmp_path, small, monkeypatch):
    """An Enhanced file cut short: its pixel data, left on disk, is checked before mapping."""
    from _dicom_writer import write_enhanced

    import corebt_viewer.io.dicom.pixels as pixels_module

    monkeypatch.setattr(pixels_module, "DEFER_BYTES", 2**10)
    data, affine = small
    path = tmp_path / "mr"
    uid = write_enhanced(path, data, affine, number=4, description="AX T1 3D")
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(InputError, match=r"series 4 'AX T1 3D' has truncated pixel data"):
        read_series_volume(scan_folder(tmp_path).find(uid))


def test_patient_values_never_pass_through_pydicom_conversion(tmp_path, small, monkeypatch):
    """pydicom's validation warnings quote invalid values; patient values are never converted."""
    import pydicom.dataelem
    import pydicom.valuerep
    import pydicom.values

    data, affine = small
    write_classic(tmp_path, data[:, :, :3], affine, number=3, description="AX T1")
    seen = []
    real = pydicom.dataelem.validate_value

    def spy(vr, value, mode):
        seen.append(str(value))
        return real(vr, value, mode)

    for module in (pydicom.dataelem, pydicom.values, pydicom.valuerep):
        monkeypatch.setattr(module, "validate_value", spy)
    scan = scan_folder(tmp_path)
    scan.check_single_patient()
    read_series_volume(scan.series[0])
    assert any("AX T1" in v for v in seen)  # the spy sees the conversions
    for secret in SECRETS:
        assert not any(secret in v for v in seen)
