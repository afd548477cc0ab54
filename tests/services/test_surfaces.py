"""VTK surfaces: enclosed volume matches the mask, coordinates, smoothing, export."""

from __future__ import annotations

import numpy as np
import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.progress import Progress
from corebt_viewer.core.segmentation import Region
from corebt_viewer.services import surfaces as sf


def ellipsoid(shape, centre, radii):
    grid = np.indices(shape, dtype=float)
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True)) <= 1


@pytest.fixture
def phantom() -> np.ndarray:
    """Sphere of oedema holding an ellipsoid of enhancing tumour and a necrotic core."""
    labels = np.zeros((48, 44, 36), dtype=np.uint8)
    labels[ellipsoid(labels.shape, (24, 22, 18), (14, 14, 14))] = 2
    labels[ellipsoid(labels.shape, (24, 22, 18), (9, 7, 6))] = 3
    labels[ellipsoid(labels.shape, (24, 22, 18), (4, 4, 3))] = 1
    return labels


@pytest.mark.parametrize("method", ["surface_nets", "flying_edges"])
def test_mesh_volume_matches_mask_volume(phantom, method):
    voxel_size = (0.9, 1.1, 2.0)
    events: list[Progress] = []
    meshes = sf.region_meshes(
        phantom, voxel_size=voxel_size, space="mm", method=method, progress=events.append
    )
    assert [m.region for m in meshes] == [Region.NECROTIC_CORE, Region.OEDEMA, Region.ENHANCING]
    voxel_ml = np.prod(voxel_size) / 1000
    for mesh in meshes:
        mask_ml = (phantom == int(mesh.region)).sum() * voxel_ml
        # Each region's surface is closed and encloses the region's own voxels.
        assert mesh.volume_ml == pytest.approx(mask_ml, rel=0.03 if mesh.region != 1 else 0.06)
        assert sf.mesh_volume_ml(mesh) == pytest.approx(mesh.volume_ml, rel=1e-4)
        assert mesh.faces.dtype == np.int32 and mesh.faces.shape[1] == 3
        assert mesh.faces.max() < len(mesh.vertices)
    assert events[-1].fraction == 1.0


def test_sphere_volume_close_to_analytic():
    labels = np.zeros((40, 40, 40), np.uint8)
    labels[ellipsoid(labels.shape, (20, 20, 20), (12, 12, 12))] = 3
    (mesh,) = sf.region_meshes(labels, space="mm")
    analytic_ml = 4 / 3 * np.pi * 12**3 / 1000
    assert mesh.volume_ml == pytest.approx(analytic_ml, rel=0.03)
    assert mesh.area_mm2 == pytest.approx(4 * np.pi * 12**2, rel=0.12)


def test_smoothing_rounds_the_voxel_staircase():
    labels = np.zeros((40, 40, 40), np.uint8)
    labels[ellipsoid(labels.shape, (20, 20, 20), (12, 12, 12))] = 2
    raw = sf.region_meshes(labels, space="voxel", smoothing_iterations=0)[0]
    smooth = sf.region_meshes(labels, space="voxel", smoothing_iterations=30)[0]

    def radial_spread(mesh):
        return np.linalg.norm(mesh.vertices - 20, axis=1).std()

    assert radial_spread(smooth) < 0.7 * radial_spread(raw)


def test_coordinates_follow_the_affine_and_voxel_space(phantom):
    affine = np.array([[1.0, 0, 0, -90], [0, 1.2, 0, -120], [0, 0, 2.5, -70], [0, 0, 0, 1]])
    world = sf.region_meshes(phantom, affine=affine, regions=[Region.ENHANCING])[0]
    voxel = sf.region_meshes(phantom, affine=affine, regions=[Region.ENHANCING], space="voxel")[0]
    centre_vox = np.argwhere(phantom == 3).mean(axis=0)
    np.testing.assert_allclose(voxel.vertices.mean(axis=0), centre_vox, atol=0.3)
    np.testing.assert_allclose(
        world.vertices.mean(axis=0), affine[:3, :3] @ centre_vox + affine[:3, 3], atol=0.5
    )
    assert world.volume_ml == pytest.approx((phantom == 3).sum() * 1.0 * 1.2 * 2.5 / 1000, rel=0.03)
    assert sf.mesh_volume_ml(voxel, voxel_size=(1.0, 1.2, 2.5)) == pytest.approx(
        world.volume_ml, rel=1e-3
    )


def test_flipped_affine_keeps_outward_faces(phantom):
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    mesh = sf.region_meshes(phantom, affine=flip, regions=[2])[0]
    assert sf.mesh_volume_ml(mesh) > 0  # signed volume would be negative with inward faces


def test_empty_regions_are_skipped():
    labels = np.zeros((10, 10, 10), np.uint8)
    assert sf.region_meshes(labels, space="mm") == []
    with pytest.raises(ValueError):
        sf.region_meshes(labels)  # world space needs an affine


@pytest.mark.parametrize("suffix", [".stl", ".vtp", ".obj"])
def test_export_and_read_back(phantom, tmp_path, suffix):
    meshes = sf.region_meshes(phantom, voxel_size=(1, 1, 1), space="mm")
    path = sf.export_mesh(meshes[1], tmp_path / f"oedema{suffix}")
    vertices, faces = sf.read_mesh(path)
    assert len(faces) == len(meshes[1].faces)
    np.testing.assert_allclose(
        np.sort(vertices[:, 0])[::50], np.sort(meshes[1].vertices[:, 0])[::50], atol=1e-3
    )
    volume, _ = sf._mass_properties(sf._polydata(vertices.astype(float), faces))
    assert volume / 1000 == pytest.approx(meshes[1].volume_ml, rel=1e-3)


def test_export_region_files_and_bad_format(phantom, tmp_path):
    meshes = sf.region_meshes(phantom, space="mm")
    paths = sf.export_region_meshes(meshes, tmp_path / "out", stem="P001", fmt="stl")
    assert [p.name for p in paths] == ["P001_NCR.stl", "P001_ED.stl", "P001_ET.stl"]
    assert all(p.stat().st_size > 1000 for p in paths)
    merged = sf.export_mesh(meshes, tmp_path / "all.vtp")
    assert len(sf.read_mesh(merged)[1]) == sum(len(m.faces) for m in meshes)
    with pytest.raises(InputError):
        sf.export_mesh(meshes[0], tmp_path / "mesh.ply")


def test_real_mask_surfaces(real_mri_dir):
    from corebt_viewer.io.mask_versions import read_mask

    seg = read_mask(real_mri_dir / "TCGA-DU-7294_seg_fusion_mav.nii.gz")
    meshes = sf.region_meshes(seg.labels, affine=seg.affine)
    volumes = seg.volumes_ml()
    assert {m.region for m in meshes} == {r for r, v in volumes.items() if v > 0}
    for mesh in meshes:
        assert mesh.volume_ml == pytest.approx(volumes[mesh.region], rel=0.05)
