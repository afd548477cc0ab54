"""Keep the mask layer, the panel's settings and the edit count in step, both ways.

A :class:`LayerBinding` ties one napari ``Labels`` layer to the editor's
:class:`~corebt_viewer.services.mask_settings.EditSettings` and to the session's
:class:`~corebt_viewer.services.mask_settings.EditHistory`:

* settings -> layer: label, brush size, preserve-labels, 2D / 3D and mode;
* layer -> settings: the same, whatever changed them (napari's own keys ``=``, ``-``,
  ``M``, ``X``, ``[``, ``]``, ``B``, the mode keys); a label outside the mask's labels is
  put back at once and reported, so no key selects a label that saving would refuse;
* every stroke (``events.paint``), undo and redo moves the history (Ctrl+Z and
  Ctrl+Shift+Z on the canvas are bound on this layer to the binding's undo and redo).
"""

from __future__ import annotations

from collections.abc import Callable

from corebt_viewer.gui import _napari_compat as compat
from corebt_viewer.services.mask_settings import MODES, EditHistory, EditSettings

UNDO_KEYS = {"Control-Z": "undo", "Control-Shift-Z": "redo"}
_LAYER_EVENTS = ("selected_label", "brush_size", "preserve_labels", "n_edit_dimensions", "mode")


class LayerBinding:
    """Bind `layer` to `settings` and `history` until :meth:`release`.

    Parameters
    ----------
    layer : napari Labels layer
    settings : EditSettings
        Pushed to the layer at once.
    history : EditHistory
    on_labels_changed : callable
        Called after each stroke, undo or redo (statistics, state line).
    on_refused : callable, optional
        Called with a message when the layer was put back (a label outside the mask's).
    """

    def __init__(
        self,
        layer,
        settings: EditSettings,
        history: EditHistory,
        *,
        on_labels_changed: Callable[[], None],
        on_refused: Callable[[str], None] | None = None,
    ):
        self.layer = layer
        self.settings = settings
        self.history = history
        self._on_labels_changed = on_labels_changed
        self._on_refused = on_refused or (lambda _message: None)
        for name, value in settings.as_dict().items():
            self._to_layer(name, value)
        settings.changed.connect(self._to_layer)
        for name in _LAYER_EVENTS:
            getattr(layer.events, name).connect(self._from_layer)
        layer.events.paint.connect(self._on_paint)
        for key, action in UNDO_KEYS.items():
            layer.bind_key(key, lambda _layer, a=action: getattr(self, a)(), overwrite=True)

    # ------------------------------------------------------------------ settings -> layer
    def _to_layer(self, name: str, value) -> None:
        layer = self.layer
        if name == "label":
            if layer.selected_label != value:
                layer.selected_label = value
        elif name == "brush_size":
            if layer.brush_size != value:
                layer.brush_size = value
        elif name == "preserve_labels":
            if layer.preserve_labels != value:
                layer.preserve_labels = value
        elif name == "edit_3d":
            if layer.n_edit_dimensions != self.settings.n_edit_dimensions:
                layer.n_edit_dimensions = self.settings.n_edit_dimensions
        elif name == "mode":
            if value != "pan_zoom" and not layer.visible:
                layer.visible = True  # (napari restores the mode it had when hidden)
            if str(layer.mode) != value:
                layer.mode = value

    # ------------------------------------------------------------------ layer -> settings
    def _from_layer(self, event=None) -> None:
        layer, settings = self.layer, self.settings
        label = int(layer.selected_label)
        if not settings.allows(label):
            layer.selected_label = settings.label
            self._on_refused(
                f"Label {label} is not one of this mask's labels "
                f"({', '.join(map(str, settings.allowed_labels))}): kept {settings.label}"
            )
        else:
            settings.set("label", label)
        settings.set("brush_size", layer.brush_size)
        if layer.brush_size != settings.brush_size:  # beyond the panel's range
            layer.brush_size = settings.brush_size
        settings.set("preserve_labels", layer.preserve_labels)
        settings.set("edit_3d", layer.n_edit_dimensions >= 3)
        if str(layer.mode) in MODES:
            settings.set("mode", str(layer.mode))

    # ------------------------------------------------------------------ history
    def _on_paint(self, event=None) -> None:
        self.history.edited()
        self._on_labels_changed()

    def undo(self) -> None:
        self._step(self.layer.undo, self.history.undone, 0)

    def redo(self) -> None:
        self._step(self.layer.redo, self.history.redone, 1)

    def _step(self, action, record, side: int) -> None:
        if compat.labels_history_depth(self.layer)[side] == 0:
            return  # nothing to undo (redo): the labels stay as they are
        action()
        record()
        self._on_labels_changed()

    def release(self) -> None:
        """Stop following the layer (it is left to its canvas, in pan/zoom mode)."""
        layer = self.layer
        self.settings.changed.disconnect(self._to_layer)
        for name in _LAYER_EVENTS:
            getattr(layer.events, name).disconnect(self._from_layer)
        layer.events.paint.disconnect(self._on_paint)
        for key in UNDO_KEYS:
            layer.bind_key(key, None)
        if layer.mode != "pan_zoom":
            layer.mode = "pan_zoom"
