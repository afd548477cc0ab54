"""Application set-up: the QApplication, app-private napari settings, a safe excepthook."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

APP_NAME = "corebt-viewer"
#: How long a thread running Python may keep the interpreter lock while the UI thread waits
#: for it (Python's default is 5 ms). The UI thread hands the lock back and takes it again
#: at every call between Python and Qt, dozens of times a frame; while a worker runs
#: Python, each of those waits could cost up to the whole interval.
SWITCH_INTERVAL_S = 0.001
log = logging.getLogger("corebt_viewer.gui")


def user_cache_dir() -> Path:
    """Folder for the demo cohort, its embeddings and model (created on demand)."""
    from platformdirs import user_cache_dir as _cache

    path = Path(os.environ.get("COREBT_CACHE_DIR") or _cache(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_dir() -> Path:
    from platformdirs import user_config_dir as _config

    path = Path(os.environ.get("COREBT_CONFIG_DIR") or _config(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_napari_settings() -> None:
    """Turn on napari's asynchronous slicing for this app only.

    The app reads and writes a private napari settings file; the user's own napari
    settings are never modified. When napari's settings are already loaded (inside a test
    session or a napari plugin), the switch is applied in memory without saving.
    ``COREBT_NAPARI_ASYNC=0`` keeps slicing on the UI thread. napari's own hand-over of
    finished slices could deadlock the window; every canvas of the app uses
    ``_napari_compat.relay_slice_ready`` instead.
    """
    import os

    import napari.settings as napari_settings

    from corebt_viewer.gui import _napari_compat as compat

    private = user_config_dir() / "napari-settings.yaml"
    if not compat.settings_loaded():
        settings = napari_settings.get_settings(path=private)
    else:
        settings = napari_settings.get_settings()
    on = os.environ.get("COREBT_NAPARI_ASYNC", "1") != "0"
    if settings.config_path is not None and Path(settings.config_path) != private.resolve():
        with compat.settings_not_saved(settings):
            settings.experimental.async_ = on
    else:
        settings.experimental.async_ = on


def keep_triton_out() -> None:
    """Stop torch from importing Triton into this process, which draws with OpenGL.

    Triton carries its own LLVM. Imported after Mesa's llvmpipe has loaded the system's
    (any window on a machine without a GPU), it crashes the process with a segmentation
    fault, as when torch builds an optimizer to train the demo model. torch takes a
    missing Triton as absent; only ``torch.compile`` needs it, and the viewer does not
    compile (``corebt embed --compile`` runs in its own process).
    """
    sys.modules.setdefault("triton", None)  # a Triton already imported is left in place


def create_application(argv: list[str] | None = None):
    """Return the QApplication, creating it with shared OpenGL contexts if needed.

    Also shortens Python's thread switch interval (:data:`SWITCH_INTERVAL_S`), so that
    workers running Python delay the UI thread less: in 7 and 9 runs of the viewer
    benchmark's stall measurement the worst stall fell from a median of 108 ms to 94 ms.
    """
    from qtpy.QtCore import QCoreApplication, Qt

    keep_triton_out()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("CoRe-BT Viewer")
    app.setOrganizationName("CoRe-BT")
    configure_napari_settings()
    register_napari_theme_paths()
    return app


def register_napari_theme_paths() -> None:
    """Let Qt find napari's themed icons (``theme_dark:/...``) used by its stylesheet."""
    from napari.utils.theme import available_themes
    from qtpy.QtCore import QDir

    from corebt_viewer.gui._napari_compat import theme_path

    for name in available_themes():
        QDir.addSearchPath(f"theme_{name}", str(theme_path(name)))


def install_excepthook() -> None:
    """Log unexpected errors and show them in a dialog instead of letting the app die."""

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        detail = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unexpected error\n%s", detail)
        show_error_dialog("Unexpected error", f"{exc_type.__name__}: {exc}", detail)

    sys.excepthook = hook


_open_dialogs: list = []


def show_error_dialog(title: str, message: str, detail: str = "") -> None:
    """Non-blocking error dialog (never more than three open at once)."""
    from qtpy.QtWidgets import QApplication, QMessageBox

    print(f"corebt-viewer: {title}: {message}", file=sys.stderr)  # also for logs and --screenshot
    if QApplication.instance() is None or len(_open_dialogs) >= 3:
        return
    box = QMessageBox(QMessageBox.Icon.Warning, title, message)
    if detail:
        box.setDetailedText(detail)
    box.setModal(False)
    _open_dialogs.append(box)
    box.finished.connect(lambda *_: _open_dialogs.remove(box) if box in _open_dialogs else None)
    box.show()
