"""Smooth 3D surfaces of the tumour regions with VTK, for napari Surface layers and export.

Each region's mask is turned into a closed triangle mesh with VTK's surface nets (or
discrete flying edges), smoothed with a windowed-sinc filter (little shrinkage), and
returned as plain numpy arrays (``vertices``, ``faces``), in voxel, millimetre or world
(scanner RAS) coordinates. Meshes can be written as STL, VTP or OBJ for planning or
3D printing. VTK is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.progress import ProgressCallback, report
from corebt_viewer.core.segmentation import REGIONS, Region
from corebt_viewer.core.volume import voxel_size_of

MESH_FORMATS = (".stl", ".vtp", ".obj")
SPACES = ("voxel", "mm", "world")


@dataclass(frozen=True)
class RegionMesh:
    """A closed triangle mesh of one tumour region.

    Attributes
    ----------
    region : Region
    vertices : ndarray of float32, shape (n, 3)
        Coordinates in `space`: ``"voxel"`` (array indices, for a napari layer that shares
        the image's ``scale``), ``"mm"`` (indices times voxel size) or ``"world"``
        (the affine applied: scanner RAS millimetres).
    faces : ndarray of int32, shape (m, 3)
        Vertex indices of each triangle, counter-clockwise seen from outside.
    space : str
    volume_ml : float
        Volume enclosed by the mesh (millilitres).
    area_mm2 : float
        Surface area (square millimetres).
    """

    region: Region
    vertices: np.ndarray
    faces: np.ndarray
    space: str
    volume_ml: float
    area_mm2: float

    @property
    def colour(self) -> tuple[float, float, float, float]:
        return self.region.colour


def _image_data(mask: np.ndarray, spacing: Sequence[float]):
    """A vtkImageData of a (padded) binary mask; VTK's x is the array's first axis."""
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData

    padded = np.pad(mask.astype(np.uint8), 1)
    image = vtkImageData()
    image.SetDimensions(*padded.shape)
    image.SetSpacing(*(float(s) for s in spacing))
    image.SetOrigin(*(-float(s) for s in spacing))  # undo the padding
    scalars = numpy_to_vtk(padded.ravel(order="F"), deep=True)
    scalars.SetName("labels")
    image.GetPointData().SetScalars(scalars)
    return image


def _extract(image, method: str):
    if method == "surface_nets":
        from vtkmodules.vtkFiltersCore import vtkSurfaceNets3D

        extractor = vtkSurfaceNets3D()
        extractor.SetInputData(image)
        extractor.SetLabel(0, 1)
        extractor.SetBackgroundLabel(0)
        extractor.SetOutputMeshTypeToTriangles()
        extractor.SetSmoothing(False)  # smoothed below, the same way for both methods
    elif method == "flying_edges":
        from vtkmodules.vtkFiltersGeneral import vtkDiscreteFlyingEdges3D

        extractor = vtkDiscreteFlyingEdges3D()
        extractor.SetInputData(image)
        extractor.SetValue(0, 1)
        extractor.ComputeNormalsOff()
        extractor.ComputeGradientsOff()
        extractor.ComputeScalarsOff()
    else:
        raise ValueError(f"unknown surface method {method!r}; use 'surface_nets' or 'flying_edges'")
    extractor.Update()
    return extractor.GetOutput()


def _smooth(polydata, iterations: int, pass_band: float):
    from vtkmodules.vtkFiltersCore import vtkWindowedSincPolyDataFilter

    smoother = vtkWindowedSincPolyDataFilter()
    smoother.SetInputData(polydata)
    smoother.SetNumberOfIterations(int(iterations))
    smoother.SetPassBand(float(pass_band))
    smoother.BoundarySmoothingOff()
    smoother.FeatureEdgeSmoothingOff()
    smoother.NonManifoldSmoothingOn()
    smoother.NormalizeCoordinatesOn()
    smoother.Update()
    return smoother.GetOutput()


def _clean_triangles(polydata):
    from vtkmodules.vtkFiltersCore import vtkCleanPolyData, vtkTriangleFilter

    tri = vtkTriangleFilter()
    tri.SetInputData(polydata)
    tri.PassVertsOff()
    tri.PassLinesOff()
    clean = vtkCleanPolyData()
    clean.SetInputConnection(tri.GetOutputPort())
    clean.Update()
    return clean.GetOutput()


def _arrays(polydata) -> tuple[np.ndarray, np.ndarray]:
    from vtkmodules.util.numpy_support import vtk_to_numpy

    if polydata.GetNumberOfPoints() == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
    vertices = vtk_to_numpy(polydata.GetPoints().GetData()).astype(np.float32)
    polys = polydata.GetPolys()
    faces = vtk_to_numpy(polys.GetConnectivityArray()).reshape(-1, 3).astype(np.int32)
    return vertices, faces


def _polydata(vertices: np.ndarray, faces: np.ndarray):
    from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

    points = vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(vertices, dtype=np.float64), deep=True))
    cells = vtkCellArray()
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cells.SetData(
        numpy_to_vtkIdTypeArray(offsets, deep=True),
        numpy_to_vtkIdTypeArray(np.ascontiguousarray(faces, dtype=np.int64).ravel(), deep=True),
    )
    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(cells)
    return poly


def _mass_properties(polydata) -> tuple[float, float]:
    """(volume mm^3, area mm^2) of a closed triangle mesh."""
    from vtkmodules.vtkFiltersCore import vtkMassProperties

    if polydata.GetNumberOfCells() == 0:
        return 0.0, 0.0
    mass = vtkMassProperties()
    mass.SetInputData(polydata)
    mass.Update()
    return float(mass.GetVolume()), float(mass.GetSurfaceArea())


def region_meshes(
    labels: np.ndarray,
    *,
    affine: np.ndarray | None = None,
    voxel_size: Sequence[float] | None = None,
    regions: Iterable[int] | None = None,
    method: str = "surface_nets",
    smoothing_iterations: int = 20,
    pass_band: float = 0.1,
    space: str = "world",
    progress: ProgressCallback | None = None,
) -> list[RegionMesh]:
    """Closed, smoothed surfaces of the tumour regions of a canonical label volume.

    Parameters
    ----------
    labels : ndarray
        Canonical labels (0-3), indexed (x, y, z) like the case's volumes.
    affine : ndarray, optional
        4x4 voxel-to-world affine (needed for ``space="world"``; gives the voxel size).
    voxel_size : sequence of float, optional
        Millimetres per voxel (default: from `affine`, else 1 mm).
    regions : iterable of int, optional
        Regions to mesh (default all three); empty regions are skipped.
    method : {"surface_nets", "flying_edges"}
        VTK's ``vtkSurfaceNets3D`` or ``vtkDiscreteFlyingEdges3D``.
    smoothing_iterations : int
        Windowed-sinc iterations (0: no smoothing, the blocky voxel surface).
    pass_band : float
        Windowed-sinc pass band (0-2; smaller is smoother).
    space : {"world", "mm", "voxel"}
        Coordinates of the returned vertices.
    progress : callable, optional

    Returns
    -------
    list of RegionMesh
        One per non-empty region, in region order.
    """
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, not {space!r}")
    if labels.ndim != 3:
        raise ValueError(f"labels must be 3-D, got shape {labels.shape}")
    if space == "world" and affine is None:
        raise ValueError("space='world' needs the affine")
    if voxel_size is None:
        voxel_size = voxel_size_of(affine) if affine is not None else (1.0, 1.0, 1.0)
    spacing = np.asarray(voxel_size, dtype=float)
    wanted = [Region(int(r)) for r in (REGIONS if regions is None else regions)]
    meshes = []
    for i, region in enumerate(wanted):
        report(progress, i, len(wanted), f"surface of {region.title.lower()}", "surfaces")
        mask = labels == int(region)
        if not mask.any():
            continue
        box = tuple(
            slice(int(idx.min()), int(idx.max()) + 1) for idx in np.nonzero(mask)
        )  # mesh only the bounding box, then shift back
        offset = np.array([s.start for s in box], dtype=float)
        poly = _extract(_image_data(mask[box], spacing), method)
        if smoothing_iterations > 0 and poly.GetNumberOfPoints() > 0:
            poly = _smooth(poly, smoothing_iterations, pass_band)
        poly = _clean_triangles(poly)
        volume_mm3, area = _mass_properties(poly)
        vertices, faces = _arrays(poly)
        mm = vertices.astype(np.float64) + offset * spacing
        if space == "mm":
            out = mm
        elif space == "voxel":
            out = mm / spacing
        else:
            index = mm / spacing
            out = index @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]
            if np.linalg.det(np.asarray(affine)[:3, :3]) < 0:
                faces = faces[:, ::-1].copy()  # keep the outward winding
        meshes.append(
            RegionMesh(region, out.astype(np.float32), faces, space, volume_mm3 / 1000.0, area)
        )
    report(progress, len(wanted), len(wanted), "surfaces done", "surfaces")
    return meshes


def mesh_volume_ml(mesh: RegionMesh, voxel_size: Sequence[float] | None = None) -> float:
    """Volume enclosed by `mesh` measured again with ``vtkMassProperties`` (mL).

    For meshes in ``"voxel"`` space give `voxel_size` to get millilitres.
    """
    vertices = mesh.vertices.astype(np.float64)
    if mesh.space == "voxel":
        vertices = vertices * np.asarray(voxel_size if voxel_size is not None else (1, 1, 1), float)
    volume, _ = _mass_properties(_polydata(vertices, mesh.faces))
    return volume / 1000.0


def export_mesh(mesh: RegionMesh | Sequence[RegionMesh], path: str | Path) -> Path:
    """Write one mesh, or several merged into one file, as STL, VTP or OBJ (by suffix).

    VTP files keep a ``region`` cell array (the canonical label of each triangle).
    """
    from vtkmodules.util.numpy_support import numpy_to_vtk

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_FORMATS:
        raise InputError(
            path, f"unknown mesh format {suffix!r}; use one of {', '.join(MESH_FORMATS)}"
        )
    meshes = [mesh] if isinstance(mesh, RegionMesh) else list(mesh)
    if not meshes:
        raise ValueError("no mesh to export")
    vertices, faces, region_ids, start = [], [], [], 0
    for m in meshes:
        vertices.append(m.vertices)
        faces.append(m.faces + start)
        region_ids.append(np.full(len(m.faces), int(m.region), dtype=np.uint8))
        start += len(m.vertices)
    poly = _polydata(np.concatenate(vertices), np.concatenate(faces))
    ids = numpy_to_vtk(np.concatenate(region_ids), deep=True)
    ids.SetName("region")
    poly.GetCellData().AddArray(ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".stl":
        from vtkmodules.vtkIOGeometry import vtkSTLWriter

        writer = vtkSTLWriter()
        writer.SetFileTypeToBinary()
    elif suffix == ".obj":
        from vtkmodules.vtkIOGeometry import vtkOBJWriter

        writer = vtkOBJWriter()
    else:
        from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

        writer = vtkXMLPolyDataWriter()
        writer.SetDataModeToBinary()
    writer.SetFileName(str(path))
    writer.SetInputData(poly)
    if writer.Write() != 1:
        raise InputError(path, "VTK could not write the mesh")
    return path


def export_region_meshes(
    meshes: Sequence[RegionMesh], folder: str | Path, *, stem: str, fmt: str = "stl"
) -> list[Path]:
    """Write each mesh to ``<folder>/<stem>_<NCR|ED|ET>.<fmt>``; returns the paths."""
    fmt = fmt.lower().lstrip(".")
    folder = Path(folder)
    return [export_mesh(m, folder / f"{stem}_{m.region.short}.{fmt}") for m in meshes]


def read_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an STL, VTP or OBJ file back as (vertices, faces)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".stl":
        from vtkmodules.vtkIOGeometry import vtkSTLReader as Reader
    elif suffix == ".obj":
        from vtkmodules.vtkIOGeometry import vtkOBJReader as Reader
    elif suffix == ".vtp":
        from vtkmodules.vtkIOXML import vtkXMLPolyDataReader as Reader
    else:
        raise InputError(path, f"unknown mesh format {suffix!r}")
    if not path.is_file():
        raise InputError(path, "file not found")
    reader = Reader()
    reader.SetFileName(str(path))
    reader.Update()
    return _arrays(_clean_triangles(reader.GetOutput()))
