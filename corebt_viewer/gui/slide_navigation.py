"""Where you are on a slide and how big things are: magnification, minimap, ruler.

- :func:`magnification_text`: the slide's objective power (OpenSlide's
  ``openslide.objective-power``, else Aperio's ``AppMag``) and the effective magnification
  at the current zoom (objective x screen pixels per level-0 pixel).
- :class:`Minimap`: the slide's thumbnail with the view's rectangle; a click or a drag
  centres the view there.
- :class:`Ruler`: a napari Shapes layer of lines in level-0 pixels, each labelled with its
  length in µm (level-0 pixels x µm per pixel).
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt, Signal
from qtpy.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from qtpy.QtWidgets import QSizePolicy, QWidget

#: Microns per screen pixel at "1x" when a slide states no objective (the usual
#: 10 µm / magnification convention: 40x ~ 0.25 µm/px).
MICRONS_AT_1X = 10.0


def objective_power(properties: dict) -> float | None:
    """The scanner's objective power from a slide's properties, or ``None``."""
    for key in ("openslide.objective-power", "aperio.AppMag", "hamamatsu.SourceLens"):
        try:
            value = float(properties.get(key, ""))
        except (TypeError, ValueError):
            continue
        if np.isfinite(value) and value > 0:
            return value
    return None


def effective_magnification(objective: float | None, mpp: float | None, zoom: float) -> float:
    """Magnification on screen at napari zoom `zoom` (screen pixels per world unit; the
    world unit is a micron when `mpp` is known, else a level-0 pixel)."""
    screen_per_level0 = zoom * mpp if mpp else zoom
    if objective:
        return objective * screen_per_level0
    if mpp:
        return MICRONS_AT_1X * zoom
    return float("nan")


def magnification_text(objective: float | None, mpp: float | None, zoom: float) -> str:
    """``"20× scan · 5.1× now"``; estimated values carry a ``≈`` and say why."""
    now = effective_magnification(objective, mpp, zoom)
    if objective:
        return f"{objective:g}× scan · {now:.1f}× now"
    if mpp:
        return f"objective unknown · ≈{now:.1f}× now (from µm/px)"
    return "objective and pixel size unknown"


class Minimap(QWidget):
    """A slide's thumbnail with the current view's rectangle; click or drag to move.

    Signals
    -------
    centre_requested(float, float)
        Level-0 (x, y) the user clicked.
    """

    centre_requested = Signal(float, float)

    def __init__(self, parent: QWidget | None = None, size: int = 220):
        super().__init__(parent)
        self.setMinimumHeight(size // 2)
        self.setMaximumHeight(size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setToolTip("Overview: click or drag to move the view (Alt+O: show / hide)")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.pixmap: QPixmap | None = None
        self.extent = (1.0, 1.0)  # level-0 (width, height)
        self.view = None  # level-0 (x0, y0, x1, y1) of the view

    def set_slide(self, thumbnail: np.ndarray | None, width: int, height: int) -> None:
        self.extent = (float(width), float(height))
        if thumbnail is None:
            self.pixmap = None
        else:
            rgb = np.ascontiguousarray(thumbnail[..., :3], dtype=np.uint8)
            h, w = rgb.shape[:2]
            image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
            self.pixmap = QPixmap.fromImage(image.copy())
        self.update()

    def set_view(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.view = (x0, y0, x1, y1)
        self.update()

    def _frame(self) -> QRectF:
        """Where the slide sits in the widget (aspect kept)."""
        width, height = self.extent
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_level0(self, x: float, y: float) -> tuple[float, float]:
        frame = self._frame()
        width, height = self.extent
        return (
            (x - frame.left()) / frame.width() * width,
            (y - frame.top()) / frame.height() * height,
        )

    def view_rect(self) -> QRectF | None:
        """The view's rectangle in widget pixels (``None`` before the first view)."""
        if self.view is None:
            return None
        frame = self._frame()
        width, height = self.extent
        x0, y0, x1, y1 = self.view
        sx, sy = frame.width() / width, frame.height() / height
        return QRectF(
            QPointF(frame.left() + x0 * sx, frame.top() + y0 * sy),
            QPointF(frame.left() + x1 * sx, frame.top() + y1 * sy),
        )

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 30, 30))
        frame = self._frame()
        if self.pixmap is not None:
            painter.drawPixmap(frame, self.pixmap, QRectF(self.pixmap.rect()))
        rect = self.view_rect()
        if rect is not None:
            painter.setClipRect(frame)
            painter.setPen(QPen(QColor(255, 200, 0), 2))
            painter.drawRect(rect)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._request(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._request(event)

    def _request(self, event) -> None:
        pos = event.position() if hasattr(event, "position") else event.pos()
        x, y = self.to_level0(pos.x(), pos.y())
        width, height = self.extent
        self.centre_requested.emit(min(max(x, 0.0), width), min(max(y, 0.0), height))


class Ruler:
    """A Shapes layer of measuring lines on the slide canvas, labelled in µm.

    Parameters
    ----------
    viewer : napari.components.ViewerModel
    on_measure : callable, optional
        ``on_measure(text)`` with the newest line's length.
    """

    def __init__(self, viewer, on_measure=None):
        self.viewer = viewer
        self.on_measure = on_measure or (lambda _text: None)
        self.mpp: float | None = None
        self.layer = viewer.add_shapes(
            name="Ruler",
            ndim=2,
            edge_color="#ffd400",
            face_color="transparent",
            features={"label": np.array([], dtype=object)},
            feature_defaults={"label": ""},  # a new line's text before it is measured
            visible=False,
        )
        self.layer.current_edge_color = "#ffd400"
        self.layer.text = {"string": "{label}", "color": "#ffd400", "size": 11}
        self.layer.events.data.connect(self._on_data)

    def place(self, mpp: float | None) -> None:
        """Match the slide: data coordinates are level-0 pixels."""
        self.mpp = float(mpp) if mpp else None
        step = self.mpp or 1.0
        self.layer.scale = (step, step)
        self.layer.translate = (-step / 2, -step / 2)
        if self.layer.nshapes:
            self.layer.data = []

    def lengths(self) -> np.ndarray:
        """Length of each line in µm (level-0 pixels when the pixel size is unknown)."""
        out = []
        for line in self.layer.data:
            points = np.asarray(line, dtype=np.float64)[:, -2:]
            px = float(np.sum(np.hypot(*np.diff(points, axis=0).T)))
            out.append(px * self.mpp if self.mpp else px)
        return np.asarray(out)

    def label(self, length: float) -> str:
        if not self.mpp:
            return f"{length:,.0f} px (pixel size unknown)"
        return f"{length / 1000:.3f} mm" if length >= 1000 else f"{length:.1f} µm"

    def _on_data(self, event) -> None:
        if str(getattr(event, "action", "")) not in ("added", "changed", "removed"):
            return
        lengths = self.lengths()
        labels = [self.label(v) for v in lengths]
        if len(labels) == self.layer.nshapes:
            self.layer.features = {"label": labels}
            self.layer.refresh_text()
        self.on_measure(f"Ruler: {labels[-1]}" if labels else "Ruler: —")

    def activate(self) -> None:
        # napari's edge width is in data units: 2.5 screen pixels at the current zoom
        step = self.mpp or 1.0
        self.layer.current_edge_width = 2.5 / (self.viewer.camera.zoom * step)
        self.layer.visible = True
        self.viewer.layers.selection.active = self.layer
        self.layer.mode = "add_line"
