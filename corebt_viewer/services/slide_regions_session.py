"""The region annotations of the slide on screen, as a Qt-free object a view subscribes to.

:class:`SlideRegionsSession` owns one :class:`~corebt_viewer.core.annotation_editor.AnnotationEditor`
for the slide shown, knows where its files live (``<cohort>/.corebt/annotations/<case>/``),
and does what the viewer's buttons ask: load the newest version, save a new one, write and
offer back the autosave (recovery) file, import a QuPath GeoJSON as one undoable step, and
measure each region in mm². Views call :meth:`on_change` and redraw from :attr:`regions`.

>>> session = SlideRegionsSession()
>>> region = session.editor.add(Region.rectangle(0, 0, 2000, 1000, class_name="tumour"))
>>> session.set_slide(cohort_root=None, case_id="", slide=None, mpp=0.5)
>>> round(float(session.areas_mm2()[0]), 3)
0.5
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from corebt_viewer.core.annotation_editor import AnnotationEditor
from corebt_viewer.core.annotations import (
    DEFAULT_REGION_CLASSES,
    Region,
    RegionClass,
    SlideAnnotations,
)
from corebt_viewer.io.annotations import annotation_folder, slide_stem

#: Name of the autosave file, next to the versions (never a version itself).
AUTOSAVE_SUFFIX = ".autosave.geojson"


@dataclass(frozen=True)
class RegionsAutosave:
    """Unsaved regions to write to the autosave file (see :meth:`SlideRegionsSession.write_autosave`)."""

    path: Path
    annotations: SlideAnnotations
    epoch: int


@dataclass(frozen=True)
class RegionRow:
    """One line of the region table."""

    index: int
    id: str
    class_name: str
    color: tuple[int, int, int] | None
    area_mm2: float | None
    parts: int
    holes: int


class SlideRegionsSession:
    """The regions of one slide under edit, their files and their areas.

    Parameters
    ----------
    classes : tuple of RegionClass
        The class list new slides start with.

    Attributes
    ----------
    editor : AnnotationEditor
    current_class : str
        The class a newly drawn region gets.
    version : str
        The label of the version the editor started from (``"v003"``, ``""``: none).
    """

    def __init__(self, classes: tuple[RegionClass, ...] = DEFAULT_REGION_CLASSES):
        self.editor = AnnotationEditor(SlideAnnotations(classes=tuple(classes)))
        self.current_class = classes[0].name if classes else ""
        self.cohort_root: Path | None = None
        self.case_id = ""
        self.slide: Path | None = None
        self.mpp: float | None = None
        self.version = ""
        self._area_cache: dict[int, tuple] = {}  # id(polygons) -> (polygons, level-0 px²)
        # a save or another slide ends the epoch: an autosave of the last one is not written
        self._files_lock = threading.Lock()
        self._epoch = 0

    # ------------------------------------------------------------------ state
    @property
    def regions(self) -> tuple[Region, ...]:
        return self.editor.regions

    @property
    def classes(self) -> tuple[RegionClass, ...]:
        return self.editor.classes

    @property
    def dirty(self) -> bool:
        return self.editor.dirty

    @property
    def has_slide(self) -> bool:
        return self.cohort_root is not None and self.slide is not None

    def on_change(self, callback: Callable[[str], None]) -> None:
        """Call `callback(label)` after each change (see :meth:`AnnotationEditor.on_change`)."""
        self.editor.on_change(callback)

    def class_color(self, name: str | None) -> tuple[int, int, int]:
        """The colour of class `name` (grey for an unclassified region)."""
        return self.editor.annotations.class_color(name) or (160, 160, 160)

    def set_current_class(self, name: str) -> None:
        if name not in {c.name for c in self.classes}:
            raise ValueError(f"unknown class {name!r}")
        self.current_class = name

    # ------------------------------------------------------------------ the slide
    def set_slide(
        self,
        *,
        cohort_root: str | Path | None,
        case_id: str,
        slide: str | Path | None,
        mpp: float | None,
        annotations: SlideAnnotations | None = None,
        version: str = "",
    ) -> None:
        """Edit another slide, starting from `annotations` (history and dirty flag cleared)."""
        with self._files_lock:
            self._epoch += 1
        self.cohort_root = Path(cohort_root) if cohort_root is not None else None
        self.case_id = case_id
        self.slide = Path(slide) if slide is not None else None
        self.mpp = float(mpp) if mpp else None
        self.version = version
        if annotations is not None:
            self.editor.reset(annotations)
        elif self.regions or self.editor.can_undo:
            self.editor.reset(SlideAnnotations(classes=self.classes))

    def _where(self) -> tuple[Path, str, Path]:
        if not self.has_slide:
            raise RuntimeError("no slide is open for annotation")
        return self.cohort_root, self.case_id, self.slide  # type: ignore[return-value]

    def autosave_path(self) -> Path:
        """``<cohort>/.corebt/annotations/<case>/<slide stem>.autosave.geojson``."""
        root, case_id, slide = self._where()
        return annotation_folder(root, case_id) / f"{slide_stem(slide)}{AUTOSAVE_SUFFIX}"

    # ------------------------------------------------------------------ files
    def save(self):
        """Save the regions as the slide's next version (atomic); returns the
        :class:`~corebt_viewer.io.annotations.AnnotationVersion` and drops the autosave."""
        from corebt_viewer.services.annotations import save_annotations

        root, case_id, slide = self._where()
        with self._files_lock:  # no autosave lands between the save and its cleanup
            self._epoch += 1
            saved = save_annotations(
                cohort_root=root, case_id=case_id, slide=slide, annotations=self.editor.annotations
            )
            self.version = saved.label
            self.editor.mark_saved()
            self.autosave_path().unlink(missing_ok=True)
        return saved

    def autosave(self) -> Path | None:
        """Write unsaved edits to the autosave file (atomic); ``None`` when nothing to do."""
        snapshot = self.autosave_snapshot()
        return None if snapshot is None else self.write_autosave(snapshot)

    def autosave_snapshot(self) -> RegionsAutosave | None:
        """The unsaved regions to autosave, for :meth:`write_autosave` (``None``: nothing
        unsaved). The regions are immutable: the snapshot is the editor's current state."""
        if not self.has_slide or not self.dirty:
            return None
        return RegionsAutosave(self.autosave_path(), self.editor.annotations, self._epoch)

    def write_autosave(self, snapshot: RegionsAutosave) -> Path | None:
        """Write `snapshot` to the autosave file (atomic; safe from a worker thread).

        Returns ``None``, writing nothing, when the regions were saved or another slide was
        opened since the snapshot: its edits are in a version, or belong to a closed slide.
        """
        from corebt_viewer.io.annotations import write_geojson

        with self._files_lock:
            if snapshot.epoch != self._epoch:
                return None
            return write_geojson(snapshot.path, snapshot.annotations)

    def import_geojson(self, path: str | Path) -> list[str]:
        """Add the regions of a QuPath GeoJSON export as one undoable step.

        Returns the lines to show (counts, what was skipped and why, regions outside the
        slide). Classes the file brings are added to the class list.

        Raises
        ------
        InputError
            An unreadable file, or one without any region.
        """
        from corebt_viewer.core.errors import InputError
        from corebt_viewer.io.annotations import read_geojson
        from corebt_viewer.services.annotations import check_against_slide

        report = read_geojson(path, classes=self.classes)
        found = report.annotations
        if not len(found):
            raise InputError(path, "no annotation region to import: " + "; ".join(report.summary()))
        taken = {r.id for r in self.regions}
        with self.editor.group("import"):
            if found.classes != self.classes:
                self.editor.set_classes(found.classes)
            for region in found.regions:
                if region.id in taken:  # the same file imported twice: keep both copies
                    region = replace(region, id=str(uuid.uuid4()))
                self.editor.add(region)
        notes = check_against_slide(found, self.slide) if self.slide is not None else []
        return [*report.summary(), *notes]

    # ------------------------------------------------------------------ measures
    def areas_mm2(self) -> np.ndarray | None:
        """Each region's area in mm² (holes subtracted); ``None`` when the slide's pixel
        size is unknown. Unchanged regions are not measured again."""
        if not self.mpp:
            return None
        regions = self.regions
        cache = self._area_cache
        # keyed by id() of the geometry, holding the geometry too: an id is never reused
        # while its entry lives
        missing = [r for r in regions if cache.get(id(r.polygons), (None,))[0] is not r.polygons]
        if missing:
            import shapely

            from corebt_viewer.io.annotations.geometry import to_shapely_array

            areas = shapely.area(to_shapely_array(missing))
            for region, area in zip(missing, areas, strict=True):
                cache[id(region.polygons)] = (region.polygons, float(area))
        if len(cache) > 4 * len(regions) + 64:  # forget regions long gone
            live = {id(r.polygons) for r in regions}
            self._area_cache = cache = {k: v for k, v in cache.items() if k in live}
        px2 = np.array([cache[id(r.polygons)][1] for r in regions], dtype=np.float64)
        return px2 * (self.mpp * 1e-3) ** 2

    def rows(self) -> list[RegionRow]:
        """The region table: class, colour, area in mm², parts and holes."""
        areas = self.areas_mm2()
        return [
            RegionRow(
                i,
                r.id,
                r.class_name or "unclassified",
                self.class_color(r.class_name),
                None if areas is None else float(areas[i]),
                len(r.polygons),
                r.n_holes,
            )
            for i, r in enumerate(self.regions)
        ]


def brush_stroke_region(points, radius: float, *, class_name: str | None) -> Region:
    """The region a brush stroke paints: the path through `points` ((n, 2) level-0 x, y)
    widened by `radius` level-0 pixels on each side (round ends and joins).

    >>> brush_stroke_region([[0, 0], [100, 0]], 10, class_name="tumour").bounds
    (-10.0, -10.0, 110.0, 10.0)
    """
    import shapely

    from corebt_viewer.io.annotations.geometry import polygons_from_shapely

    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if radius <= 0:
        raise ValueError("the brush needs a positive size")
    path = shapely.LineString(points) if len(points) > 1 else shapely.Point(points[0])
    painted = shapely.simplify(path.buffer(radius, quad_segs=8), radius / 20)
    kind, polygons = polygons_from_shapely(painted)
    return Region(polygons=polygons, geometry_type=kind, class_name=class_name)


def load_slide_regions(
    *, cohort_root: str | Path, case_id: str, slide: str | Path, classes=DEFAULT_REGION_CLASSES
) -> tuple[SlideAnnotations | None, str, SlideAnnotations | None, list[str]]:
    """What the viewer opens for a slide (run it in a worker).

    Returns
    -------
    (annotations, version, autosaved, notes)
        The newest saved version and its label (``None``, ``""`` when there is none), the
        autosaved edits when their file exists and differs from it, and lines to show.

    Raises
    ------
    InputError
        When the newest version cannot be read (an older one is never used instead).
    """
    from corebt_viewer.core.errors import InputError
    from corebt_viewer.io.annotations import read_geojson
    from corebt_viewer.services.annotations import load_annotations

    found = load_annotations(cohort_root=cohort_root, case_id=case_id, slide=slide, classes=classes)
    annotations, version, notes = None, "", []
    if found is not None:
        report, saved = found
        annotations, version = report.annotations, saved.label
        if report.skipped or report.notes:
            notes += [f"{saved.path.name}: {line}" for line in report.summary()]
    autosave = annotation_folder(cohort_root, case_id) / f"{slide_stem(slide)}{AUTOSAVE_SUFFIX}"
    autosaved = None
    if autosave.is_file():
        try:
            autosaved = read_geojson(autosave, classes=classes).annotations
        except InputError as exc:
            notes.append(f"the autosaved region edits cannot be read: {exc}")
    return annotations, version, autosaved, notes
