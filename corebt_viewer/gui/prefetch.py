"""Read the cohort and the first case's MRI while the window is still being built.

Importing Qt and napari and building the canvases takes seconds of the UI thread; the
files can be read meanwhile in a background thread (no Qt involved).

Whoever takes a prefetched result must read the files again when it failed: an import
in this thread can race PySide6's own import machinery in the main thread (seen here as
"partially initialized module 'typing'" about one start in five), and such an error
says nothing about the files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger("corebt_viewer.gui")


def prefetched_or_read(future: Future | None, read: Callable[[], object], what: str):
    """`future`'s result; when there is none or it failed, ``read()`` now.

    A failed prefetch says nothing about the files (see above), so they are read again;
    an error of that read is the one the user sees.
    """
    if future is not None:
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - read again below; its error reaches the user
            log.warning("prefetching %s failed; reading it again", what, exc_info=True)
    return read()


def load_study(case, cohort_root=None):
    """The MRI study of `case`, a display window per sequence and where to open (any thread).

    With `cohort_root`, sequences with a stored rigid registration (``corebt coregister``)
    are placed through it (:func:`~corebt_viewer.services.native_space.load_registered_study`).

    Returns
    -------
    study : MRIStudy
    windows : dict of Sequence -> (low, high)
    centre : tuple of float or None
        World position (mm) of the tumour's centre, else of the volume's middle.
    """
    from corebt_viewer.gui.layers import brain_window, tumour_centre
    from corebt_viewer.io.nifti import load_case_mri

    if cohort_root is not None:
        from corebt_viewer.services.native_space import load_registered_study

        study = load_registered_study(cohort_root=cohort_root, case=case)
    else:
        study = load_case_mri(case)
    windows = {seq: brain_window(vol) for seq, vol in study.volumes.items()}
    reference = next(iter(study.volumes.values()), None)
    return study, windows, tumour_centre(study.segmentation, reference)


class Prefetch:
    """Start reading `path` (a cohort) and its first case's MRI in a background thread.

    Attributes
    ----------
    path : Path
    cohort : Future of Cohort
    mri : dict of patient id -> Future of :func:`load_study`'s result
    """

    def __init__(self, path: str | Path, case_id: str | None = None):
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corebt-prefetch")
        self.mri: dict[str, Future] = {}
        self.cohort: Future = self._executor.submit(self._read, case_id)
        self._executor.shutdown(wait=False)

    def _read(self, case_id: str | None):
        from corebt_viewer.io.manifest import read_cohort

        cohort = read_cohort(self.path)
        first = case_id if case_id in cohort.ids else (cohort.ids[0] if cohort.ids else None)
        if first is not None and cohort[first].mri:
            future: Future = Future()
            self.mri[first] = future
            try:
                future.set_result(load_study(cohort[first], cohort.root))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
                future.set_exception(exc)
        return cohort

    def take_mri(self, patient_id: str) -> Future | None:
        """The prefetched MRI of `patient_id` (once), or ``None``."""
        return self.mri.pop(patient_id, None)
