"""A Qt-free editing model of a slide's regions, with undo and redo.

A GUI drives it (draw -> :meth:`AnnotationEditor.add`, drag -> :meth:`move`, class picker ->
:meth:`edit`, delete key -> :meth:`delete`) and listens to its changes; a script or a test
drives it the same way. Each edit is one undo step; :meth:`AnnotationEditor.group` merges
several edits (a multi-selection move) into one.

>>> editor = AnnotationEditor()
>>> region = editor.add(Region.rectangle(0, 0, 10, 10, class_name="tumour"))
>>> editor.move([region.id], 5, 5)
>>> _ = editor.undo()
>>> editor.regions[0].bounds
(0.0, 0.0, 10.0, 10.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from corebt_viewer.core.annotations import (
    DEFAULT_REGION_CLASSES,
    Region,
    RegionClass,
    SlideAnnotations,
)

#: Undo steps kept (the oldest are dropped first).
MAX_UNDO = 500


@dataclass(frozen=True)
class _Step:
    """One undoable change: the state before and after, and what it was (for menus)."""

    label: str
    before: SlideAnnotations
    after: SlideAnnotations


class AnnotationEditor:
    """Regions of one slide under edit, with an undo/redo stack.

    Parameters
    ----------
    annotations : SlideAnnotations, optional
        Where editing starts (not an undo step).
    max_undo : int

    Notes
    -----
    States are immutable :class:`SlideAnnotations`, so an undo step holds two references and
    costs no copy of the geometry. ``on_change`` callbacks get the label of the change
    (``"add"``, ``"undo move"``...) after each change; ``revision`` grows with every change
    and ``saved_revision`` tells whether there is anything to save (autosave reads it).
    """

    def __init__(self, annotations: SlideAnnotations | None = None, *, max_undo: int = MAX_UNDO):
        self._state = annotations if annotations is not None else SlideAnnotations()
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._max_undo = int(max_undo)
        self._group: list[_Step] | None = None
        self.revision = 0
        self.saved_revision = 0
        self._listeners: list[Callable[[str], None]] = []

    # -- state --------------------------------------------------------------------------

    @property
    def annotations(self) -> SlideAnnotations:
        return self._state

    @property
    def regions(self) -> tuple[Region, ...]:
        return self._state.regions

    @property
    def classes(self) -> tuple[RegionClass, ...]:
        return self._state.classes

    @property
    def dirty(self) -> bool:
        """True when there are changes since the last :meth:`mark_saved`."""
        return self.revision != self.saved_revision

    def mark_saved(self) -> None:
        self.saved_revision = self.revision

    def on_change(self, callback: Callable[[str], None]) -> None:
        """Call `callback(label)` after each change (edit, undo or redo)."""
        self._listeners.append(callback)

    def _emit(self, label: str) -> None:
        self.revision += 1
        for callback in list(self._listeners):
            callback(label)

    def _commit(self, label: str, after: SlideAnnotations) -> None:
        step = _Step(label, self._state, after)
        self._state = after
        if self._group is not None:
            self._group.append(step)
            return
        self._push(step)
        self._emit(label)

    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        del self._undo[: -self._max_undo]
        self._redo.clear()

    def _require(self, ids: Iterable[str]) -> list[str]:
        ids = list(ids)
        known = {r.id for r in self._state.regions}
        missing = [i for i in ids if i not in known]
        if missing:
            raise KeyError(f"no region {missing[0]!r}")
        return ids

    def _check_class(self, class_name: str | None) -> None:
        if class_name is not None and class_name not in {c.name for c in self.classes}:
            known = ", ".join(c.name for c in self.classes)
            raise ValueError(f"unknown class {class_name!r} (the list has: {known})")

    # -- edits --------------------------------------------------------------------------

    def add(self, region: Region) -> Region:
        """Add a region (its class must be in the class list); returns it."""
        self._check_class(region.class_name)
        if any(r.id == region.id for r in self._state.regions):
            raise ValueError(f"a region with id {region.id!r} exists already")
        self._commit("add", replace(self._state, regions=(*self._state.regions, region)))
        return region

    def delete(self, ids: Iterable[str]) -> None:
        """Delete regions (locked ones too: locking guards moves and reshaping only)."""
        gone = set(self._require(ids))
        kept = tuple(r for r in self._state.regions if r.id not in gone)
        self._commit("delete", replace(self._state, regions=kept))

    def move(self, ids: Iterable[str], dx: float, dy: float) -> None:
        """Move regions by (dx, dy) level-0 pixels.

        Raises
        ------
        PermissionError
            When one of them is locked.
        """
        chosen = set(self._require(ids))
        locked = [r.id for r in self._state.regions if r.id in chosen and r.locked]
        if locked:
            raise PermissionError(f"region {locked[0]!r} is locked")
        regions = tuple(r.translated(dx, dy) if r.id in chosen else r for r in self._state.regions)
        self._commit("move", replace(self._state, regions=regions))

    def edit(self, region_id: str, **changes) -> Region:
        """Change a region's class, name, lock, colour or geometry (``polygons``).

        Reshaping (new ``polygons``) a locked region raises :class:`PermissionError`.
        """
        self._require([region_id])
        old = self._state.region(region_id)
        if "id" in changes:
            raise ValueError("a region's id cannot be edited")
        if "class_name" in changes:
            self._check_class(changes["class_name"])
        if old.locked and ("polygons" in changes or "geometry_type" in changes):
            raise PermissionError(f"region {region_id!r} is locked")
        new = old.with_changes(**changes)
        regions = tuple(new if r.id == region_id else r for r in self._state.regions)
        self._commit("edit", replace(self._state, regions=regions))
        return new

    def set_classes(self, classes: Iterable[RegionClass]) -> None:
        """Replace the class list (a class still used by a region cannot be removed)."""
        classes = tuple(classes)
        names = [c.name for c in classes]
        if len(set(names)) != len(names):
            raise ValueError("class names must be unique")
        used = {r.class_name for r in self._state.regions} - {None} - set(names)
        if used:
            raise ValueError(f"class {sorted(used)[0]!r} is still used by a region")
        self._commit("classes", replace(self._state, classes=classes))

    def reset(self, annotations: SlideAnnotations | None = None) -> None:
        """Start over from `annotations` (a file just loaded): history and dirty flag cleared."""
        self._state = annotations if annotations is not None else SlideAnnotations()
        self._undo.clear()
        self._redo.clear()
        self._emit("reset")
        self.mark_saved()

    @contextmanager
    def group(self, label: str) -> Iterator[None]:
        """Make the edits inside the block one undo step (all undone if the block raises)."""
        if self._group is not None:
            yield
            return
        start = self._state
        self._group = []
        try:
            yield
        except BaseException:
            self._state = start
            raise
        finally:
            steps, self._group = self._group, None
        if steps:
            self._push(_Step(label, start, self._state))
            self._emit(label)

    # -- history ------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def undo(self) -> bool:
        """Undo the last step; False when there is none."""
        if not self._undo:
            return False
        step = self._undo.pop()
        self._redo.append(step)
        self._state = step.before
        self._emit(f"undo {step.label}")
        return True

    def redo(self) -> bool:
        """Redo the last undone step; False when there is none."""
        if not self._redo:
            return False
        step = self._redo.pop()
        self._undo.append(step)
        self._state = step.after
        self._emit(f"redo {step.label}")
        return True


def default_editor() -> AnnotationEditor:
    """An empty editor with the default class list."""
    return AnnotationEditor(SlideAnnotations(classes=DEFAULT_REGION_CLASSES))
