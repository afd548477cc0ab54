"""The MRI quality-check dialog: each moved sequence over the reference, and what was done.

Shows a :class:`~corebt_viewer.services.mri_qc.CaseQc` (computed off the UI thread): a
sequence chooser, checkerboard or edge overlay, a slice slider, and the notes (resampled
from which grid; the registration's transform and residual when one exists).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSlider,
    QVBoxLayout,
)

from corebt_viewer.services.mri_qc import KINDS, CaseQc, qc_slice

KIND_TITLES = {"checkerboard": "Checkerboard", "edges": "Edges over the reference"}
SIZE = 360


def to_qimage(picture: np.ndarray) -> QImage:
    """A 0-1 grey (x, y) or RGB (x, y, 3) slice as an 8-bit image, anterior up."""
    data = np.rot90(np.asarray(picture, np.float32))  # (x, y) RAS -> rows top = anterior
    data = np.clip(data * 255, 0, 255).astype(np.uint8)
    h, w = data.shape[:2]
    pixels = data.tobytes()  # kept alive until the copy: QImage does not own it
    if data.ndim == 2:
        image = QImage(pixels, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels, w, h, 3 * w, QImage.Format.Format_RGB888)
    copied = image.copy()
    del pixels
    return copied


class MriQcDialog(QDialog):
    """QC of one case's sequences moved onto the reference grid."""

    def __init__(self, qc: CaseQc, parent=None):
        super().__init__(parent)
        self.qc = qc
        self.setWindowTitle(f"MRI quality check — {qc.case}")
        self.sequence = QComboBox()
        for role in qc.roles:
            self.sequence.addItem(f"{role} on {qc.reference}", role)
        self.kind = QComboBox()
        for kind in KINDS:
            self.kind.addItem(KIND_TITLES[kind], kind)
        depth = next(iter(qc.study.volumes.values())).shape[2]
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, depth - 1)
        self.slider.setValue(depth // 2)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(SIZE, SIZE)
        self.slice_label = QLabel()
        self.notes = QPlainTextEdit(qc.text())
        self.notes.setReadOnly(True)

        controls = QHBoxLayout()
        for widget in (QLabel("Sequence"), self.sequence, QLabel("View"), self.kind):
            controls.addWidget(widget)
        slices = QHBoxLayout()
        slices.addWidget(self.slider, 1)
        slices.addWidget(self.slice_label)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.picture, 1)
        layout.addLayout(slices)
        layout.addWidget(self.notes)
        for signal in (self.sequence.currentIndexChanged, self.kind.currentIndexChanged):
            signal.connect(self.redraw)
        self.slider.valueChanged.connect(self.redraw)
        if not qc.roles:
            for widget in (self.sequence, self.kind, self.slider):
                widget.setEnabled(False)
            self.picture.setText(
                "Every sequence is on the reference grid as stored: nothing was resampled "
                "or registered."
            )
        self.redraw()

    def set_view(self, role: str | None = None, kind: str | None = None) -> None:
        """Choose the sequence and the kind of picture (for tests and shortcuts)."""
        if role is not None:
            self.sequence.setCurrentIndex(self.sequence.findData(role))
        if kind is not None:
            self.kind.setCurrentIndex(self.kind.findData(kind))
        self.redraw()

    def current_picture(self) -> np.ndarray | None:
        role = self.sequence.currentData()
        if role is None:
            return None
        return qc_slice(self.qc, role, kind=self.kind.currentData(), index=self.slider.value())

    def redraw(self, *_args) -> None:
        self.slice_label.setText(f"slice {self.slider.value() + 1}/{self.slider.maximum() + 1}")
        picture = self.current_picture()
        if picture is None:
            return
        pixmap = QPixmap.fromImage(to_qimage(picture))
        self.picture.setPixmap(
            pixmap.scaled(
                SIZE,
                SIZE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )
