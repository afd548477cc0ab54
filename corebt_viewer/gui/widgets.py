"""Small shared widgets: a message pane, a colour legend, a banner, a pane's control bar,
the canvases' base (and whether their OpenGL draws in software)."""

from __future__ import annotations

import functools
import os

from qtpy.QtCore import QCoreApplication, QSize, Qt
from qtpy.QtWidgets import QLabel, QSizePolicy, QToolBar, QWidget

from corebt_viewer.gui.layers import one_scene_update, set_visible

GL_RENDERER = 0x1F01
#: OpenGL renderer names (lower case) of drivers that draw without a GPU
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software", "swiftshader", "basic render")


class MessagePane(QLabel):
    """Centred, word-wrapped message shown in place of a canvas (missing or unreadable data)."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setStyleSheet(
            "QLabel { color: #c8c8c8; background: #1e1e1e; font-size: 13px; padding: 24px; }"
        )
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)


class Legend(QLabel):
    """Colour swatches with names, on as many lines as the width needs (never cut).

    Attributes
    ----------
    names : list of str
        The entries as shown, ``"full name (short name)"``.
    """

    def __init__(self, entries: list[tuple[str, str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.names = [f"{title} ({short})" for short, title, _ in entries]
        # non-breaking spaces inside an entry: lines break only between entries
        items = [
            f'<span style="color:{colour}">&#9632;</span>&nbsp;{name.replace(" ", "&nbsp;")}'
            for name, (_, _, colour) in zip(self.names, entries, strict=True)
        ]
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText("&nbsp;&nbsp; ".join(items))
        self.setWordWrap(True)
        self.setToolTip("Tumour regions of the mask (BraTS labels)")


class PaneBar(QToolBar):
    """A canvas pane's row of controls.

    Controls keep their natural size; those that do not fit move, from the right, into
    the bar's overflow menu (the » button at its end) instead of being squeezed to stubs.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMovable(False)
        self.setFloatable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setContentsMargins(2, 0, 2, 0)

    def add_stretch(self) -> None:
        """Space that pushes the controls added after it to the right."""
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)

    def hidden_widgets(self) -> list[QWidget]:
        """The controls that did not fit: they are in the overflow menu."""
        return [
            widget
            for action in self.actions()
            if (widget := self.widgetForAction(action)) is not None and widget.isHidden()
        ]


class Banner(QLabel):
    """A one-line notice above a canvas (loading, missing sequences, files that failed).

    Always one line high, empty or not, with the whole text in its tooltip: a banner
    that came and went would resize the canvas below it, and resizing an OpenGL canvas
    costs a full re-render.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(False)
        self.setStyleSheet("QLabel { color: #ffd479; padding: 2px 4px; }")
        self.setFixedHeight(self.fontMetrics().height() + 6)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.full_text = ""

    def show_text(self, text: str) -> None:
        self.full_text = text
        self.setText(" ".join(text.split()))
        self.setToolTip(text)


@functools.cache
def opengl_renderer() -> str:
    """The name of the OpenGL renderer Qt draws with ("" if none can be made)."""
    from qtpy.QtGui import QOffscreenSurface, QOpenGLContext

    context = QOpenGLContext()
    if not context.create():
        return ""
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    try:
        if not context.makeCurrent(surface):
            return ""
        renderer = context.functions().glGetString(GL_RENDERER)
        context.doneCurrent()
        return str(renderer or "")
    finally:
        surface.destroy()


def new_napari_canvas(title: str):
    """A napari ``ViewerModel`` and its ``QtViewer``, safe with asynchronous slicing.

    The canvas is native where that is cheaper, finished slices reach the UI thread
    through :func:`_napari_compat.relay_slice_ready` (napari's own path can deadlock), and
    vispy's meshes keep their shaders across data changes
    (:func:`_vispy_compat.keep_mesh_shaders`) and can be prepared before their frame
    (:func:`_vispy_compat.track_changed_meshes`).
    """
    from napari.components import ViewerModel
    from napari.qt import QtViewer

    from corebt_viewer.gui import _napari_compat as compat
    from corebt_viewer.gui._vispy_compat import keep_mesh_shaders, track_changed_meshes

    keep_mesh_shaders()
    track_changed_meshes()

    viewer = ViewerModel(title=title)
    qt_viewer = QtViewer(viewer)
    compat.relay_slice_ready(qt_viewer)
    make_canvas_native(qt_viewer)
    return viewer, qt_viewer


def make_canvas_native(qt_viewer) -> bool:
    """Give a napari canvas its own native window when OpenGL renders in software.

    A ``QOpenGLWidget`` inside a window turns on OpenGL composition for the whole window:
    every repaint, of a status message or a table cell, then recomposes every pixel of it.
    That is free on a GPU and 30-100 ms a frame on a software renderer (remote desktops,
    virtual machines, Xvfb). As a native child the canvas composes alone and the rest of
    the window keeps raster painting. ``COREBT_NATIVE_CANVAS=1`` or ``=0`` forces it on
    or off whatever the renderer.

    Returns
    -------
    bool
        Whether the canvas was made native.
    """
    choice = os.environ.get("COREBT_NATIVE_CANVAS", "")
    if choice == "0":
        return False
    if choice != "1":
        renderer = opengl_renderer().lower()
        if not any(name in renderer for name in SOFTWARE_RENDERERS):
            return False
    native = getattr(getattr(qt_viewer, "canvas", None), "native", None)
    if native is None:
        return False
    # only the canvas: native parents or siblings would each be another window to map and
    # flush (Qt makes both native by default)
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_DontCreateNativeWidgetSiblings)
    native.setAttribute(Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
    native.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
    return True


def plain_canvas_overlays(viewer) -> None:
    """Show the scale bar, and draw the scale bar and text overlay without a background box.

    napari draws an overlay's box as a vispy mesh whose shader program is rebuilt and
    relinked whenever the box changes size (each zoom, each new text): 20-30 ms a time
    on a software renderer, several times per case switch.
    """
    overlays = viewer.canvas.overlays
    overlays.scale_bar.visible = True
    for name in ("scale_bar", "text"):
        overlay = overlays[name] if name in overlays else None
        if overlay is not None and getattr(overlay, "box", False):
            overlay.box = False


class CanvasPane(QWidget):
    """Base of the MRI and slide panes: a napari canvas (``viewer``, ``qt_viewer``) whose
    case is put in place by UI-thread ``steps``.

    The size hints are constant: the two panes share a splitter, which re-divides its
    width whenever a child's hint changes (a button's text, a label's length), and every
    resize of an OpenGL canvas costs a full re-render.
    """

    def _make_canvas(self, title: str) -> None:
        """Create the pane's ``viewer`` and ``qt_viewer`` (native where that is cheaper)."""
        self.viewer, self.qt_viewer = new_napari_canvas(title)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(640, 480)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(240, 200)

    def hold_redraws(self, hold: bool) -> None:
        """Stop (``hold=True``) or restart the canvas's redraws.

        While a case's layers are swapped behind a loading message, each swap would redraw
        the canvas with nothing new to see: a frame of tens of milliseconds of the UI thread
        with software OpenGL. Restarting schedules one redraw.
        """
        native = self.qt_viewer.canvas.native
        if native.updatesEnabled() == hold:
            native.setUpdatesEnabled(not hold)

    def blank(self) -> None:
        """Drop the steps left, and hide every layer: nothing of the last case stays."""
        self.steps.cancel()
        self.hold_redraws(False)
        with one_scene_update(self.qt_viewer):
            for layer in self.viewer.layers:
                set_visible(layer, False)
