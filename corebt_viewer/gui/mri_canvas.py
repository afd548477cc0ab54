"""The MRI canvas: four sequences in millimetres, the tumour mask, planes and a mosaic.

Layer order, bottom to top (one image slot per sequence; a missing sequence gets a tiny
placeholder so the mosaic keeps its 2x2 layout and names it as missing)::

    T1, mask mirror, T1c, mask mirror, T2, mask mirror, FLAIR, mask (primary)

Layers are created once and their data swapped per case (a new napari layer costs a few
hundred milliseconds of UI thread, a swap a few), in short steps between events.
Single view shows one image slot plus the primary mask; the mosaic turns on napari's grid
with stride 2 so each cell holds a sequence with its mask (mirrors are made on first use). Mirrors share the primary
mask's array and are refreshed when it changes, so an editor needs only
:attr:`MriCanvas.labels_layer`.
"""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QLabel,
    QSlider,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from corebt_viewer.core.modalities import MRI_SEQUENCES, Sequence
from corebt_viewer.gui import layers as L
from corebt_viewer.gui.mri_display import VIEWS, MriDisplay
from corebt_viewer.gui.scheduler import StepRunner, UiScheduler
from corebt_viewer.gui.shortcuts import by_action
from corebt_viewer.gui.widgets import (
    Banner,
    CanvasPane,
    Legend,
    MessagePane,
    PaneBar,
    plain_canvas_overlays,
)

__all__ = ["VIEWS", "MriCanvas"]


KEYS = by_action()  # tooltips name the keys of the shortcut table


class MriCanvas(CanvasPane, MriDisplay):
    """napari canvas showing one case's MRI study.

    Signals
    -------
    study_shown(str)
        Emitted with the case id once its layers are on the canvas.
    """

    study_shown = Signal(str)

    def __init__(self, parent: QWidget | None = None, scheduler: UiScheduler | None = None):
        super().__init__(parent)
        self._make_canvas("MRI")
        self.image_layers: dict[Sequence, object] = {}
        self.present: tuple[Sequence, ...] = ()
        self.labels_layer = None
        self.has_mask = False
        self.mirror_layers: list = []
        self._mirrors_stale = False
        self.steps = StepRunner(self, scheduler)
        self.sequence = Sequence.T1C
        self.mosaic = False
        self.view = "axial"
        self.case_id: str | None = None
        self._build()
        self.viewer.scene.camera.orientation2d = L.RADIOLOGICAL_2D
        plain_canvas_overlays(self.viewer)
        self.show_message("No case open.")

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.bar = bar = PaneBar()
        title = QLabel("<b>MRI</b>")
        bar.addWidget(title)
        self.sequence_buttons: dict[Sequence, QToolButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        for seq in MRI_SEQUENCES:
            button = QToolButton()
            button.setText(seq.title)
            button.setCheckable(True)
            button.setToolTip(f"Show {seq.title} ({KEYS[f'sequence_{seq.value}'].keys})")
            button.clicked.connect(lambda _=False, s=seq: self.set_sequence(s))
            group.addButton(button)
            bar.addWidget(button)
            self.sequence_buttons[seq] = button
        self.mosaic_button = QToolButton()
        self.mosaic_button.setText("2x2")
        self.mosaic_button.setCheckable(True)
        self.mosaic_button.setToolTip(f"Mosaic of the four sequences ({KEYS['mosaic'].keys})")
        self.mosaic_button.toggled.connect(self.set_mosaic)
        bar.addWidget(self.mosaic_button)
        self.view_combo = QComboBox()
        self.view_combo.addItems([v.capitalize() if v != "3d" else "3D" for v in VIEWS])
        self.view_combo.setToolTip(
            "Plane: " + ", ".join(f"{v} ({KEYS[f'view_{v}'].keys})" for v in VIEWS)
        )
        self.view_combo.currentIndexChanged.connect(lambda i: self.set_view(VIEWS[i]))
        bar.addWidget(self.view_combo)
        bar.add_stretch()
        self.mask_check = QCheckBox("Mask")
        self.mask_check.setChecked(True)
        self.mask_check.setToolTip(f"Show the tumour mask ({KEYS['toggle_mask'].keys})")
        self.mask_check.toggled.connect(self.set_mask_visible)
        bar.addWidget(self.mask_check)
        self.outline_check = QCheckBox("Outline")
        self.outline_check.setToolTip(f"Draw the mask as outlines ({KEYS['outline'].keys})")
        self.outline_check.toggled.connect(self.set_outline)
        bar.addWidget(self.outline_check)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(90)
        self.opacity_slider.setToolTip("Mask opacity")
        self.opacity_slider.valueChanged.connect(lambda v: self.set_opacity(v / 100))
        bar.addWidget(self.opacity_slider)

        self.banner = Banner()
        self.legend = Legend(L.legend_entries())
        self.stack = QStackedWidget()
        self.message = MessagePane()
        self.stack.addWidget(self.qt_viewer)
        self.stack.addWidget(self.message)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self.legend.setContentsMargins(6, 0, 6, 2)
        layout.addWidget(self.legend)

    def show_message(self, text: str) -> None:
        """Replace the canvas by a message (no MRI, or none readable)."""
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self.hold_redraws(False)

    def show_loading(self, text: str) -> None:
        """Say that a case is loading: in the banner while the canvas shows a case (hiding
        and re-showing the canvas would cost a full re-render), else in the message pane."""
        if self.stack.currentWidget() is self.qt_viewer:
            self.blank()
            self.banner.show_text(text)
        else:
            self.show_message(text)

    # ------------------------------------------------------------------ data
    def _ensure_mirrors(self) -> None:
        """Read-only copies of the mask above the other three sequences (for the mosaic)."""
        if self.mirror_layers or self.labels_layer is None:
            return
        from napari.layers import Labels

        for seq in MRI_SEQUENCES[:-1]:
            image = self.image_layers[seq]
            mirror = Labels(self.labels_layer.data, **self._mirror_kwargs(seq))
            self.viewer.layers.insert(self.viewer.layers.index(image) + 1, mirror)
            self.mirror_layers.append(mirror)
        self._mirrors_stale = False
        self.set_outline(self.outline_check.isChecked())

    def _mirror_kwargs(self, seq: Sequence) -> dict:
        layer = self.labels_layer
        return {
            "name": f"{layer.name} ({seq.title})",
            "colormap": layer.colormap,
            "opacity": layer.opacity,
            "scale": layer.scale,
            "translate": layer.translate,
            "units": layer.units,
        }

    def clear(self) -> None:
        """Hide the case's layers (they stay, to be reused by the next case)."""
        self.blank()
        self.present = ()
        self.has_mask = False
        self.case_id = None
        self.banner.show_text("")

    def show_study(
        self,
        study,
        case_id: str,
        windows: dict | None = None,
        *,
        centre: tuple[float, ...] | None = None,
    ) -> None:
        """Show an MRI study (``volumes``, ``segmentation``, ``errors``) of case `case_id`.

        The layers are updated in short UI-thread steps; :attr:`study_shown` is emitted
        after the last one.

        Parameters
        ----------
        study : MRIStudy
            From :func:`corebt_viewer.io.nifti.load_case_mri`.
        windows : dict of Sequence -> (low, high), optional
            Contrast limits computed off the UI thread (see :func:`layers.brain_window`).
        centre : tuple of float, optional
            World position (mm) to open at, computed off the UI thread (see
            :func:`layers.tumour_centre`); computed here when not given.
        """
        self.steps.cancel()
        self.case_id = case_id
        volumes = dict(getattr(study, "volumes", {}) or {})
        segmentation = getattr(study, "segmentation", None)
        errors = dict(getattr(study, "errors", {}) or {})
        self.present = tuple(s for s in MRI_SEQUENCES if s in volumes)
        notes = [f"{role}: {msg}" for role, msg in errors.items()]
        if not volumes:
            self.clear()
            detail = "\n".join(notes) or "This case has no MRI."
            self.show_message(f"No MRI to show for {case_id}.\n\n{detail}")
            self._update_buttons()
            self.study_shown.emit(case_id)
            return
        missing = [s.title for s in MRI_SEQUENCES if s not in volumes]
        if missing:
            notes.insert(0, "missing: " + ", ".join(missing))
        if segmentation is None:
            notes.append("no tumour mask")
        self.banner.show_text(" · ".join(notes))
        reference = volumes[self.present[0]]
        windows = windows or {}
        self.has_mask = segmentation is not None
        if self.sequence not in self.present:
            self.sequence = Sequence.T1C if Sequence.T1C in self.present else self.present[0]

        def image_step(seq: Sequence):
            def step():
                if seq in volumes:
                    data, kwargs = L.volume_layer(volumes[seq], window=windows.get(seq))
                else:
                    data, kwargs = L.missing_volume_layer(reference, seq)
                L.replace_image_data(self.image_layers[seq], data, kwargs)

            return step

        def mask_step():
            if segmentation is not None:
                data, kwargs = L.segmentation_layer(segmentation)
            else:
                data, kwargs = L.blank_segmentation_layer(reference)
            L.replace_labels_data(self.labels_layer, data, kwargs)
            self._mirrors_stale = True

        def place_step():
            self._apply_view()
            where = centre if centre is not None else L.tumour_centre(segmentation, reference)
            if where is not None:  # one assignment: one re-slice and redraw, not three
                point = list(self.viewer.dims.point)
                point[: len(where)] = where
                self.viewer.dims.point = tuple(point)

        def show_step():
            self.stack.setCurrentWidget(self.qt_viewer)
            self.hold_redraws(False)
            self._apply_visibility()

        def finish_step():
            self._select_image()
            self._update_buttons()
            self.study_shown.emit(case_id)

        # the sequence in view first, so the screen changes early
        order = [self.sequence] + [s for s in MRI_SEQUENCES if s is not self.sequence]
        steps = [lambda: self.hold_redraws(True)]  # hidden swaps: no frames
        steps += self._ensure_layer_steps()
        steps += [image_step(seq) for seq in order]
        steps += [mask_step, place_step, show_step, finish_step]
        self.steps.run(steps)

    def _ensure_layer_steps(self) -> list:
        """Steps creating the layer slots (first case only)."""
        steps = [
            (lambda s=seq: self._add_image_slot(s))
            for seq in MRI_SEQUENCES
            if seq not in self.image_layers
        ]
        if self.labels_layer is None:
            steps.append(self._add_mask_slot)
        return steps

    def prepare_layers(self) -> None:
        """Create the layer slots now (e.g. while the first case is still loading)."""
        if not self.steps.busy:
            self.steps.run(self._ensure_layer_steps())

    def _add_image_slot(self, seq: Sequence) -> None:
        if seq in self.image_layers:
            return
        data, kwargs = L.empty_volume_layer(seq)
        layer = self.viewer.add_image(data, **kwargs)
        layer.name_overlay.box = False  # see widgets.plain_canvas_overlays
        self.image_layers[seq] = layer

    def _add_mask_slot(self) -> None:
        if self.labels_layer is not None:
            return
        data, kwargs = L.empty_labels_layer()
        kwargs["opacity"] = self.opacity_slider.value() / 100
        self.labels_layer = self.viewer.add_labels(data, **kwargs)
        self.labels_layer.events.paint.connect(self._refresh_mirrors)
        self.labels_layer.events.data.connect(self._refresh_mirrors)
        self.set_outline(self.outline_check.isChecked())

    def _sync_mirrors(self) -> None:
        """Point the mosaic's mask copies at the current mask (when they are shown)."""
        if not self._mirrors_stale:
            return
        for seq, mirror in zip(MRI_SEQUENCES[:-1], self.mirror_layers, strict=False):
            kwargs = self._mirror_kwargs(seq)
            kwargs.pop("colormap")
            L.replace_labels_data(mirror, self.labels_layer.data, kwargs)
        self._mirrors_stale = False

    def _refresh_mirrors(self, *_):
        for layer in self.mirror_layers:
            if layer.data is not self.labels_layer.data:
                layer.data = self.labels_layer.data
            else:
                layer.refresh()

    # ------------------------------------------------------------------ display
