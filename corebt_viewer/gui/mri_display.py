"""What the MRI canvas shows: the sequence, single view or mosaic, the plane, the mask.

A mixin of :class:`~corebt_viewer.gui.mri_canvas.MriCanvas` (it uses the canvas's
viewer, layers, buttons and scheduler); the canvas builds the layers, this decides which
are visible and how they are laid out.
"""

from __future__ import annotations

from corebt_viewer.core.modalities import MRI_SEQUENCES, Sequence
from corebt_viewer.gui import layers as L

VIEWS = ("axial", "coronal", "sagittal", "3d")


class MriDisplay:
    """Display switches of the MRI canvas (a mixin)."""

    def set_sequence(self, sequence: Sequence) -> None:
        """Show one sequence (leaves the mosaic)."""
        self.sequence = sequence
        if self.mosaic:
            self.mosaic_button.setChecked(False)  # calls set_mosaic(False)
        else:
            self._apply_visibility()
        self._select_image()
        self._update_buttons()

    def set_mosaic(self, on: bool) -> None:
        self.mosaic = bool(on)
        if self.mosaic_button.isChecked() != self.mosaic:
            self.mosaic_button.setChecked(self.mosaic)
            return
        self._apply_visibility()
        self._update_buttons()

    def set_view(self, view: str) -> None:
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; choose one of {VIEWS}")
        self.view = view
        if self.view_combo.currentIndex() != VIEWS.index(view):
            self.view_combo.setCurrentIndex(VIEWS.index(view))
            return
        self._apply_view()

    def show_new_mask(self) -> None:
        """The case has a mask now (a new one, or restored edits): show it and its controls."""
        self.has_mask = True
        self.set_mask_visible(True)
        self._apply_visibility()
        self._update_buttons()

    def set_mask_visible(self, on: bool) -> None:
        if self.mask_check.isChecked() != on:
            self.mask_check.setChecked(on)
            return
        self._apply_visibility()

    def set_outline(self, on: bool) -> None:
        for layer in self._mask_layers():
            layer.contour = 2 if on else 0

    def set_opacity(self, value: float) -> None:
        for layer in self._mask_layers():
            layer.opacity = float(value)

    def _mask_layers(self) -> list:
        return ([self.labels_layer] if self.labels_layer is not None else []) + self.mirror_layers

    def _apply_visibility(self) -> None:
        if not self.image_layers or not self.present:
            return
        with L.one_scene_update(self.qt_viewer):
            self._apply_visibility_now()

    def _apply_visibility_now(self) -> None:
        show_mask = self.mask_check.isChecked() and self.has_mask
        grid = self.viewer.grid
        if self.mosaic and self.has_mask:
            self._ensure_mirrors()
            self._sync_mirrors()
        if self.mosaic:
            for layer in self.image_layers.values():
                L.set_visible(layer, True)
            for layer in self._mask_layers():
                L.set_visible(layer, show_mask)
            # keep cells paired even with the mask hidden: hidden layers leave no viewbox
            grid.stride = 2 if show_mask else 1
            grid.shape = (2, 2)
            grid.spacing = 4
            grid.enabled = True
            self.viewer.canvas.overlays.text.visible = False
            for layer in self.image_layers.values():
                layer.name_overlay.visible = True
                layer.name_overlay.font_size = 11
        else:
            grid.enabled = False
            for seq, layer in self.image_layers.items():
                L.set_visible(layer, seq is self.sequence)
            if self.labels_layer is not None:
                L.set_visible(self.labels_layer, show_mask)
            for layer in self.mirror_layers:
                L.set_visible(layer, False)
            for layer in self.image_layers.values():
                layer.name_overlay.visible = False
            overlay = self.viewer.canvas.overlays.text
            if self.sequence in self.present:
                overlay.text = self.sequence.title
            else:
                overlay.text = f"{self.sequence.title}: not acquired for this case"
            overlay.position = "top_left"
            overlay.color = "white"
            overlay.font_size = 11
            overlay.visible = True

    def _apply_view(self) -> None:
        # assign only what changes: each assignment repaints the canvas on the UI thread
        dims, camera = self.viewer.dims, self.viewer.scene.camera
        ndisplay = 3 if self.view == "3d" else 2
        if dims.ndisplay != ndisplay:
            dims.ndisplay = ndisplay
        if self.view != "3d":
            order = tuple(L.PLANES[self.view])
            if tuple(dims.order) != order:
                dims.order = order
            if tuple(camera.orientation2d) != tuple(L.RADIOLOGICAL_2D):
                camera.orientation2d = L.RADIOLOGICAL_2D
        if self.image_layers:
            self.viewer.reset_view()

    def _select_image(self) -> None:
        layer = self.image_layers.get(self.sequence)
        if layer is not None:
            self.viewer.layers.selection.active = layer

    def _update_buttons(self) -> None:
        for seq, button in self.sequence_buttons.items():
            present = seq in self.present
            button.setText(seq.title if present else f"{seq.title} ✕")
            button.setToolTip(
                f"Show {seq.title} (key {MRI_SEQUENCES.index(seq) + 1})"
                if present
                else f"{seq.title} is missing for this case"
            )
            button.setChecked(seq is self.sequence and not self.mosaic)
        has_mask = self.has_mask
        for widget in (self.mask_check, self.outline_check, self.opacity_slider):
            widget.setEnabled(has_mask)
