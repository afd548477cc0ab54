"""3D surfaces on the canvas, mesh export, and the case summary export."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.segmentation import Region
from tests.gui.conftest import make_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory, "surf", 2)


@pytest.fixture
def study(cohort):
    from corebt_viewer.io.nifti import load_segmentation, load_volume

    case = cohort.cases[0]
    return case, load_volume(case.mri[case.sequences[1]]), load_segmentation(case.segmentation)


def test_surfaces_shown_on_the_mask_grid_and_exported(qtbot, study, tmp_path):
    from napari.components import ViewerModel

    from corebt_viewer.gui import layers as L
    from corebt_viewer.gui.surface_view import SurfacePanel
    from corebt_viewer.services.surfaces import read_mesh

    case, volume, seg = study
    viewer = ViewerModel()
    data, kwargs = L.segmentation_layer(seg)
    labels = viewer.add_labels(data, **kwargs)
    panel = SurfacePanel()
    qtbot.addWidget(panel)
    panel.set_target(viewer, labels, case.patient_id, affine=seg.affine)
    with qtbot.waitSignal(panel.surfaces_shown, timeout=60_000) as blocker:
        panel.show_surfaces()
    meshes = blocker.args[0]
    assert [m.region for m in meshes] == [r for r in Region if (seg.labels == int(r)).any()]
    assert viewer.dims.ndisplay == 3
    surfaces = [layer for layer in viewer.layers if layer.name.startswith("Surface ")]
    assert len(surfaces) == len(meshes)
    voxel_ml = float(np.prod(seg.voxel_size)) / 1000
    for mesh, layer in zip(meshes, surfaces, strict=True):
        mask_ml = np.count_nonzero(seg.labels == int(mesh.region)) * voxel_ml
        assert mesh.volume_ml == pytest.approx(mask_ml, rel=0.05)
        # world bounds of the surface lie on the mask's voxels
        world = layer.data[0] * np.asarray(labels.scale) + np.asarray(labels.translate)
        idx = np.argwhere(seg.labels == int(mesh.region))
        lo = idx.min(0) * np.asarray(labels.scale) + np.asarray(labels.translate)
        hi = idx.max(0) * np.asarray(labels.scale) + np.asarray(labels.translate)
        assert (world.min(0) > lo - 1.5).all() and (world.max(0) < hi + 1.5).all()
    paths = panel.export(tmp_path, "stl")
    assert len(paths) == len(meshes) and all(p.stat().st_size > 0 for p in paths)
    vertices, faces = read_mesh(paths[0])
    assert len(faces) == len(meshes[0].faces)
    panel.remove_surfaces()
    assert not [layer for layer in viewer.layers if layer.name.startswith("Surface ")]


def test_case_summary_task_writes_pdf_and_png(qtbot, study, tmp_path):
    from corebt_viewer.gui.case_summary import summary_task

    case, volume, seg = study
    task = summary_task(
        case=case,
        out=tmp_path / "summary",
        mri=volume.data,
        mask=seg.labels,
        voxel_size=seg.voxel_size,
        sequence_name="T1c",
        review="In progress",
        notes="margin checked",
    )
    paths = task(None, lambda: False)
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    assert paths[0].read_bytes()[:4] in (b"%PDF", b"\x89PNG")
    from PIL import Image

    png = next(p for p in paths if p.suffix == ".png")
    pixels = np.asarray(Image.open(png).convert("L"))
    assert pixels.std() > 10  # a drawn page, not a blank one
