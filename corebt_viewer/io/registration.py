"""Rigid registration of one MRI volume to another, with SimpleITK.

SimpleITK is chosen over ANTsPy and itk-elastix: one ~50 MB wheel for every platform with
no compiled extras, a stable ``ImageRegistrationMethod`` (Mattes mutual information for
different contrasts, multi-resolution, moments initialisation for shifted origins) and
transform files other tools read. ANTsPy's wheels are several times larger and itk-elastix
pulls the whole of ITK's Python wrapping.

Volumes are numpy arrays in RAS voxel order with a RAS affine (as
:mod:`corebt_viewer.io.nifti` returns them); SimpleITK works in LPS, so affines are flipped
on the way in and transforms on the way out. A result is a 4x4 RAS world-to-world matrix
mapping a point of the *fixed* (reference) image to the matching point of the *moving*
image, the form :func:`corebt_viewer.io.resample.resample_to_grid` takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])  # RAS <-> LPS


@dataclass(frozen=True)
class RigidResult:
    """A rigid registration's transform and how well it fits.

    Attributes
    ----------
    matrix : ndarray
        4x4 RAS world-to-world: reference point -> moving point.
    metric_before, metric_after : float
        Mattes mutual information (negative; lower is better) at the initial alignment
        (scanner coordinates) and after registration: the residual.
    iterations : int
        Optimizer iterations of the last level.
    stop : str
        Why the optimizer stopped.
    """

    matrix: np.ndarray
    metric_before: float
    metric_after: float
    iterations: int
    stop: str

    @property
    def rotation_deg(self) -> float:
        """Angle of the rotation part (degrees)."""
        return rotation_angle_deg(self.matrix)

    @property
    def translation_mm(self) -> float:
        """Length of the translation part (mm; depends on the world origin)."""
        return float(np.linalg.norm(self.matrix[:3, 3]))

    def as_dict(self) -> dict:
        return {
            "matrix_ras": np.asarray(self.matrix).round(8).tolist(),
            "rotation_deg": round(self.rotation_deg, 4),
            "metric": "Mattes mutual information (lower is better)",
            "metric_before": self.metric_before,
            "metric_after": self.metric_after,
            "iterations": self.iterations,
            "stop": self.stop,
        }


def rotation_angle_deg(matrix: np.ndarray) -> float:
    """Rotation angle (degrees) of the 3x3 part of a rigid 4x4 matrix."""
    cos = (np.trace(np.asarray(matrix)[:3, :3]) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def to_sitk(data: np.ndarray, affine: np.ndarray, *, dtype=np.float32):
    """A SimpleITK image of a RAS array and its RAS affine (direction and origin in LPS)."""
    import SimpleITK as sitk

    affine = np.asarray(affine, float)
    values = np.asarray(data, dtype)
    if values.dtype == np.bool_:
        values = values.view(np.uint8)
    image = sitk.GetImageFromArray(np.ascontiguousarray(values.transpose(2, 1, 0)))
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    lps = _FLIP @ affine
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetDirection(tuple(float(v) for v in (lps[:3, :3] / spacing).ravel()))
    image.SetOrigin(tuple(float(v) for v in lps[:3, 3]))
    return image


def _matrix_of(transform) -> np.ndarray:
    """4x4 LPS matrix of a SimpleITK matrix-offset transform (y = A (x - c) + c + t)."""
    a = np.array(transform.GetMatrix(), float).reshape(3, 3)
    c = np.array(transform.GetCenter(), float)
    t = np.array(transform.GetTranslation(), float)
    out = np.eye(4)
    out[:3, :3] = a
    out[:3, 3] = t + c - a @ c
    return out


def register_rigid(
    fixed: tuple[np.ndarray, np.ndarray],
    moving: tuple[np.ndarray, np.ndarray],
    *,
    finest_mm: float = 2.0,
    shrink: tuple[int, ...] | None = None,
    smoothing_mm: tuple[float, ...] | None = None,
    sampling: float = 0.05,
    iterations: int = 200,
    initialise: str = "geometry",
    threads: int | None = None,
    seed: int = 0,
) -> RigidResult:
    """Find the rigid transform that aligns `moving` to `fixed` (Mattes mutual information).

    Parameters
    ----------
    fixed, moving : (ndarray, ndarray)
        ``(data, affine)``: a RAS array and its RAS voxel-to-world affine.
    finest_mm : float
        Voxel size (mm) of the finest level: levels run 8, 4, 2... mm down to it (never
        finer than the fixed image), unless `shrink` is given.
    shrink, smoothing_mm : tuples, optional
        Multi-resolution levels (shrink factors of the fixed voxels, Gaussian sigmas in mm).
    sampling : float
        Share of the fixed voxels sampled for the metric (random, seeded).
    iterations : int
        Optimizer iterations per level (regular-step gradient descent).
    initialise : str
        ``"geometry"`` (image centres aligned), ``"moments"`` (centres of mass: for
        origins far apart) or ``"none"`` (scanner coordinates as they are).
    threads : int, optional
        SimpleITK threads (default: its own choice).
    seed : int

    Returns
    -------
    RigidResult
    """
    import SimpleITK as sitk

    if threads is not None:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(int(threads))
    fixed_img = to_sitk(*fixed)
    moving_img = to_sitk(*moving)
    if shrink is None:
        voxel = min(fixed_img.GetSpacing())
        sizes = [s for s in (8.0, 4.0, 2.0, 1.0, 0.5) if s >= finest_mm - 1e-6]
        shrink = tuple(dict.fromkeys(max(1, round(s / voxel)) for s in sizes))
    if smoothing_mm is None:
        smoothing_mm = tuple(
            0.5 * f * min(fixed_img.GetSpacing()) if f > 1 else 0.0 for f in shrink
        )
    if initialise == "none":
        initial = sitk.Euler3DTransform()
        initial.SetCenter(
            fixed_img.TransformContinuousIndexToPhysicalPoint(
                [(s - 1) / 2 for s in fixed_img.GetSize()]
            )
        )
    else:
        mode = {
            "geometry": sitk.CenteredTransformInitializerFilter.GEOMETRY,
            "moments": sitk.CenteredTransformInitializerFilter.MOMENTS,
        }[initialise]
        initial = sitk.CenteredTransformInitializer(
            fixed_img, moving_img, sitk.Euler3DTransform(), mode
        )
        initial = sitk.Euler3DTransform(initial)
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(float(sampling), int(seed))
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0,
        minStep=1e-5,
        numberOfIterations=int(iterations),
        relaxationFactor=0.6,
        gradientMagnitudeTolerance=1e-8,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(list(shrink))
    method.SetSmoothingSigmasPerLevel(list(smoothing_mm))
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    identity = sitk.Euler3DTransform()
    method.SetInitialTransform(identity, inPlace=False)
    before = float(method.MetricEvaluate(fixed_img, moving_img))
    method.SetInitialTransform(initial, inPlace=True)
    method.Execute(fixed_img, moving_img)
    after = float(method.GetMetricValue())
    lps = _matrix_of(initial)
    return RigidResult(
        matrix=_FLIP @ lps @ _FLIP,
        metric_before=before,
        metric_after=after,
        iterations=int(method.GetOptimizerIteration()),
        stop=method.GetOptimizerStopConditionDescription(),
    )


def rigid_matrix(
    angles_deg: tuple[float, float, float], shift_mm, centre=(0.0, 0.0, 0.0)
) -> np.ndarray:
    """A 4x4 rigid matrix: rotations about x, y, z (degrees) around `centre`, then a shift."""
    ax, ay, az = np.radians(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    rot = rz @ ry @ rx
    centre = np.asarray(centre, float)
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = centre - rot @ centre + np.asarray(shift_mm, float)
    return out
