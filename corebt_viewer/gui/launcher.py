"""Start-up: show the window, prepare the demo with progress, take ``--screenshot``s."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from qtpy.QtCore import QObject, Qt, QTimer
from qtpy.QtWidgets import QProgressDialog

from corebt_viewer.core.modalities import Modality
from corebt_viewer.gui.app import show_error_dialog, user_cache_dir
from corebt_viewer.gui.main_window import MainWindow
from corebt_viewer.gui.workers import Worker

SETTLE_MS = 1500  # after a case is ready, let async slicing and the GL canvases draw


class Launcher(QObject):
    """Owns the main window for one run of the app."""

    def __init__(
        self,
        app,
        *,
        size: tuple[int, int] = (1680, 1000),
        without: frozenset[Modality] = frozenset(),
        screenshot: Path | None = None,
        timeout_s: float = 600.0,
        start: float | None = None,
    ):
        super().__init__()
        self.app = app
        self.start = start if start is not None else time.perf_counter()
        self.without = frozenset(without)
        self.screenshot = screenshot
        self.exit_code = 0
        self.window = MainWindow()
        self.window.resize(*size)  # no window manager under Xvfb: size it ourselves
        self.window.show()
        self.window.mri.viewer.reset_view()
        self.window.slides.viewer.reset_view()
        self.window.case_ready.connect(self._on_case_ready)
        self._first_case = True
        self.timings: dict[str, float] = {"window_shown": self.elapsed()}
        if screenshot is not None:
            QTimer.singleShot(int(timeout_s * 1000), self._timeout)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    # ------------------------------------------------------------------ sources
    def open_empty(self) -> None:
        self.window.mri.show_message(
            "Open a cohort folder (Ctrl+O), or start with  corebt-viewer --demo"
        )
        if self.screenshot is not None:
            QTimer.singleShot(SETTLE_MS, self._take_screenshot)

    def open_path(self, path, *, model_dir=None, case_id=None) -> None:
        self.window.open_cohort_path(
            path, model_dir=Path(model_dir) if model_dir else None, case_id=case_id
        )

    def open_demo(self, case_id: str | None = None) -> None:
        from corebt_viewer.gui.demo_setup import demo_is_ready, ensure_demo

        cache = user_cache_dir()
        if demo_is_ready(cache):
            self.open_path(ensure_demo(cache), case_id=case_id)
            return
        dialog = QProgressDialog(
            "Preparing the demo cohort (first run only)…", "Cancel", 0, 0, self.window
        )
        dialog.setWindowTitle("CoRe-BT demo")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(460)
        worker = Worker(
            lambda progress, cancelled: ensure_demo(cache, progress=progress, cancel=cancelled),
            "preparing the demo",
        )

        def on_progress(event) -> None:
            dialog.setLabelText(
                f"Preparing the demo cohort (first run only)\n{event.message or event.stage}"
            )
            if event.total:
                dialog.setRange(0, event.total)
                dialog.setValue(min(event.done, event.total))
            self.window._on_progress(event)
            if not self.screenshot:
                print(f"demo: {event.message}", file=sys.stderr)

        def on_done(manifest) -> None:
            dialog.reset()
            self.timings["demo_built"] = self.elapsed()
            self.open_path(manifest, case_id=case_id)

        def on_failed(message: str, detail: str) -> None:
            dialog.reset()
            show_error_dialog("Cannot prepare the demo", message, detail)
            if self.screenshot is not None:
                print(f"corebt-viewer: {message}\n{detail}", file=sys.stderr)
                self.exit_code = 1
                self.app.quit()

        worker.signals.progress.connect(on_progress)
        worker.signals.finished.connect(on_done)
        worker.signals.failed.connect(on_failed)
        worker.signals.cancelled.connect(dialog.reset)
        dialog.canceled.connect(worker.cancel)
        self.window.workers.start(worker)
        dialog.show()

    # ------------------------------------------------------------------ events
    def _on_case_ready(self, patient_id: str) -> None:
        if not self._first_case:
            return
        self._first_case = False
        self.timings["first_case_ready"] = self.elapsed()
        for modality in self.without:
            self.window.prediction.set_modality_checked(modality, False)
        if self.screenshot is not None:
            QTimer.singleShot(SETTLE_MS, self._take_screenshot)
        print(
            f"corebt-viewer: case {patient_id} on screen after {self.elapsed():.2f} s",
            file=sys.stderr,
        )

    def _take_screenshot(self) -> None:
        self.app.processEvents()
        try:
            path = self.window.save_screenshot(self.screenshot)
            print(f"corebt-viewer: screenshot saved to {path}", file=sys.stderr)
        except OSError as exc:
            print(f"corebt-viewer: {exc}", file=sys.stderr)
            self.exit_code = 1
        self.window.close()
        self.app.quit()

    def _timeout(self) -> None:
        print(
            "corebt-viewer: timed out before a case was ready; saving what is on screen",
            file=sys.stderr,
        )
        self.exit_code = 1
        self._take_screenshot()

    def exec(self) -> int:
        code = self.app.exec()
        return self.exit_code or code
