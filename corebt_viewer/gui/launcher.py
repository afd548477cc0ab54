"""Start-up: show the window, prepare the demo with progress, take ``--screenshot``s."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from qtpy.QtCore import QObject, QProcess, Qt, QTimer
from qtpy.QtWidgets import QProgressDialog

from corebt_viewer.core.modalities import Modality
from corebt_viewer.gui.app import show_error_dialog, user_cache_dir
from corebt_viewer.gui.main_window import MainWindow

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
        prefetch=None,
    ):
        super().__init__()
        self.app = app
        self.start = start if start is not None else time.perf_counter()
        self.without = frozenset(without)
        self.screenshot = screenshot
        self.exit_code = 0
        self.window = MainWindow()
        self.window.prefetch = prefetch
        self.window.resize(*size)  # no window manager under Xvfb: size it ourselves
        self.window.show()
        self.window.mri.viewer.reset_view()
        self.window.slides.viewer.reset_view()
        self.window.mri.prepare_layers()  # UI-thread work while the first case loads
        QTimer.singleShot(0, self.window.slides.prepare_layers)
        self.window.case_ready.connect(self._on_case_ready)
        self.window.cohort_ready.connect(lambda: self._mark("model_loaded"))
        self.window.mri.study_shown.connect(self._on_first_images)
        self._first_case = True
        self.timings: dict[str, float] = {"window_shown": self.elapsed()}
        if screenshot is not None:
            QTimer.singleShot(int(timeout_s * 1000), self._timeout)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def _on_first_images(self, patient_id: str) -> None:
        """The first case's images are on the canvas: report when they are drawn."""
        if "first_mri_shown" in self.timings:
            return
        self._mark("first_mri_shown")
        on_draw_once(self.window.mri.qt_viewer, lambda: self._on_images_drawn(patient_id))

    def _on_images_drawn(self, patient_id: str) -> None:
        self._mark("first_case_drawn")
        print(
            f"corebt-viewer: case {patient_id} drawn after {self.elapsed():.2f} s", file=sys.stderr
        )

    def _mark(self, name: str) -> None:
        self.timings.setdefault(name, self.elapsed())

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
        """Open the demo cohort, building it first (in a child process) when needed."""
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
        dialog.setMinimumWidth(520)
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "corebt_viewer.gui.demo_setup", str(cache)])
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._demo_process = process
        state = {"manifest": None, "error": None, "buffer": b""}

        def on_output() -> None:
            state["buffer"] += bytes(process.readAllStandardOutput())
            *lines, state["buffer"] = state["buffer"].split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").strip()
                if line.startswith("PROGRESS "):
                    parts = line.split(" ", 4)
                    done, total, stage = int(parts[1]), int(parts[2]), parts[3]
                    message = parts[4] if len(parts) > 4 else stage
                    dialog.setLabelText(f"Preparing the demo cohort (first run only)\n{message}")
                    if total:
                        dialog.setRange(0, total)
                        dialog.setValue(min(done, total))
                    self.window.activity.show_message(f"demo: {message}")
                    if not self.screenshot:
                        print(f"demo: {message}", file=sys.stderr)
                elif line.startswith("MANIFEST "):
                    state["manifest"] = line[len("MANIFEST ") :]
                elif line.startswith("ERROR "):
                    state["error"] = line[len("ERROR ") :]

        def on_finished(code: int, _status) -> None:
            on_output()
            dialog.reset()
            if code == 0 and state["manifest"]:
                self.timings["demo_built"] = self.elapsed()
                self.open_path(state["manifest"], case_id=case_id)
                return
            detail = bytes(process.readAllStandardError()).decode(errors="replace")[-4000:]
            message = state["error"] or f"the demo builder stopped (exit code {code})"
            self.window.mri.show_message(f"Cannot prepare the demo: {message}")
            show_error_dialog("Cannot prepare the demo", message, detail)
            if self.screenshot is not None:
                print(f"corebt-viewer: {message}\n{detail}", file=sys.stderr)
                self.exit_code = 1
                self.app.quit()

        process.readyReadStandardOutput.connect(on_output)
        process.finished.connect(on_finished)
        dialog.canceled.connect(process.kill)
        self.app.aboutToQuit.connect(process.kill)
        process.start()
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
        stages = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(self.timings.items(), key=lambda kv: kv[1])
        )
        print(
            f"corebt-viewer: case {patient_id} ready (images, slide, report, prediction) after "
            f"{self.elapsed():.2f} s; start-up stages (s since import): {stages}",
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
        window = self.window
        waiting = ", ".join(sorted(window._pending)) or "nothing"
        busy = window.workers.describe() or "no work running"
        print(
            f"corebt-viewer: timed out before a case was ready (waiting for: {waiting}; "
            f"{busy}); saving what is on screen",
            file=sys.stderr,
        )
        self.exit_code = 1
        self._take_screenshot()

    def exec(self) -> int:
        code = self.app.exec()
        return self.exit_code or code


def on_draw_once(qt_viewer, callback) -> None:
    """Call `callback` after the next time the napari canvas draws."""
    from corebt_viewer.gui._napari_compat import scene_canvas as napari_scene_canvas

    scene_canvas = napari_scene_canvas(qt_viewer)  # a napari that changed it says so

    def handler(_event=None) -> None:
        scene_canvas.events.draw.disconnect(handler)
        QTimer.singleShot(0, callback)

    scene_canvas.events.draw.connect(handler)
    scene_canvas.update()
