"""What the mask editor paints with, and how far its edits are from the saved mask (no GUI).

Two small observable objects that the editor's panel and its napari layer both follow:

* :class:`EditSettings`: label, brush size, preserve-labels, 2D / 3D and mode. Every
  change, from the panel or from napari's own keys, goes through it; a label outside the
  mask's labels is refused, so no key can select a label that saving would reject.
* :class:`EditHistory`: a count of the edits, undos and redos since the labels were last
  opened or saved, with the position where they were clean (as ``QUndoStack``'s clean
  index). "Unsaved edits" is that position test, never a comparison of whole volumes.

Listeners are plain callbacks (``settings.changed.connect(fn)``), as napari's model events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from corebt_viewer.core.segmentation import REGIONS, LabelConvention

#: napari's labels modes; the panel has buttons for the first four
MODES = ("pan_zoom", "paint", "erase", "fill", "pick", "polygon", "transform")
BRUSH_RANGE = (1, 40)


class Callbacks:
    """A list of listeners called in order with the same arguments."""

    def __init__(self) -> None:
        self._listeners: list[Callable] = []

    def connect(self, listener: Callable) -> Callable:
        if listener not in self._listeners:
            self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Callable) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, *args) -> None:
        for listener in list(self._listeners):
            listener(*args)


def canonical_labels(convention: LabelConvention | None = None) -> tuple[int, ...]:
    """Labels an editable mask may hold: background and the canonical tumour regions.

    The editor's array is canonical (0, 1, 2, 3) whatever the file's convention (BraTS
    2021 writes enhancing tumour as 4, 2023 as 3): saving maps it back. So the allowed set
    is the same for both; `convention` only checks that it is one the project knows.
    """
    if convention is not None:
        LabelConvention(convention)
    return (0, *(int(r) for r in REGIONS))


class EditSettings:
    """The editing settings of the open mask, shared by the panel and the layer.

    Parameters
    ----------
    allowed_labels : iterable of int
        Labels that may be selected (default: :func:`canonical_labels`).

    Attributes
    ----------
    changed : Callbacks
        Called with ``(name, value)`` after each change; `name` is one of ``label``,
        ``brush_size``, ``preserve_labels``, ``edit_3d``, ``mode``.
    """

    def __init__(self, allowed_labels: Iterable[int] | None = None) -> None:
        allowed = canonical_labels() if allowed_labels is None else allowed_labels
        self.allowed_labels: tuple[int, ...] = tuple(sorted(int(v) for v in allowed))
        self.changed = Callbacks()
        self._values: dict[str, object] = {
            "label": int(REGIONS[0]),
            "brush_size": 8,
            "preserve_labels": False,
            "edit_3d": False,
            "mode": "pan_zoom",
        }

    label = property(lambda self: self._values["label"], doc="Selected label (canonical).")
    brush_size = property(lambda self: self._values["brush_size"], doc="Brush diameter (px).")
    preserve_labels = property(lambda self: self._values["preserve_labels"])
    edit_3d = property(lambda self: self._values["edit_3d"], doc="Edit a ball, not a disc.")
    mode = property(lambda self: self._values["mode"], doc="One of :data:`MODES`.")

    def allows(self, label: int) -> bool:
        return int(label) in self.allowed_labels

    def as_dict(self) -> dict[str, object]:
        return dict(self._values)

    def set(self, name: str, value) -> bool:
        """Change one setting; True when it changed (listeners were told).

        Raises
        ------
        ValueError
            For a label outside :attr:`allowed_labels`, an unknown mode or setting.
        """
        if name not in self._values:
            raise ValueError(f"unknown edit setting {name!r}")
        if name == "label":
            value = int(value)
            if not self.allows(value):
                raise ValueError(
                    f"label {value} is not one of this mask's labels {self.allowed_labels}"
                )
        elif name == "brush_size":
            value = int(min(max(int(value), BRUSH_RANGE[0]), BRUSH_RANGE[1]))
        elif name == "mode":
            value = str(value)
            if value not in MODES:
                raise ValueError(f"unknown edit mode {value!r}; expected one of {MODES}")
        else:
            value = bool(value)
        if self._values[name] == value:
            return False
        self._values[name] = value
        self.changed.emit(name, value)
        return True

    @property
    def n_edit_dimensions(self) -> int:
        """napari's ``n_edit_dimensions`` for the 2D / 3D switch."""
        return 3 if self._values["edit_3d"] else 2


class EditHistory:
    """Where the working labels stand against the last opened or saved labels.

    Each edit moves the position forward, an undo back, a redo forward. The labels are
    saved when the position is the clean one; an edit made after undoing past the clean
    position makes it unreachable (those labels are gone from the redo history).

    Attributes
    ----------
    revision : int
        Grows on every change of the labels (for "changed since the last autosave").
    changed : Callbacks
        Called with no argument after every change of the state.
    """

    def __init__(self) -> None:
        self.position = 0
        self.clean: int | None = 0
        self.revision = 0
        self.changed = Callbacks()

    @property
    def dirty(self) -> bool:
        return self.clean is None or self.position != self.clean

    @property
    def edits(self) -> int:
        """How many steps the labels are from the clean ones (-1: unknown, no way back)."""
        return -1 if self.clean is None else abs(self.position - self.clean)

    def _bump(self) -> None:
        self.revision += 1
        self.changed.emit()

    def edited(self) -> None:
        """A new edit (a stroke, a fill, a tool); it drops the redo steps."""
        if self.clean is not None and self.clean > self.position:
            self.clean = None
        self.position += 1
        self._bump()

    def undone(self) -> None:
        self.position -= 1
        self._bump()

    def redone(self) -> None:
        self.position += 1
        self._bump()

    def mark_clean(self) -> None:
        """The labels were saved (the undo steps stay valid)."""
        self.clean = self.position
        self._bump()

    def reset(self, *, clean: bool) -> None:
        """The labels were replaced outside the undo history (open, discard, restore)."""
        self.position = 0
        self.clean = 0 if clean else None
        self._bump()
