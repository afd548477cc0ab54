"""First-run set-up of the demo: cohort, embeddings and a Level-1 model in the user cache."""

from __future__ import annotations

from pathlib import Path

from corebt_viewer.core.progress import ProgressCallback, report

DEMO_VERSION = "v1"
DEMO_PATIENTS = 36  # enough to train a Level-1 model, small enough for a first run
DEMO_SLIDE_SIZE = 6000  # level-0 height of the demo slides in pixels
DONE_STAMP = ".demo-complete"


def demo_root(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"demo-cohort-{DEMO_VERSION}"


def demo_is_ready(cache_dir: Path) -> bool:
    return (demo_root(cache_dir) / DONE_STAMP).exists()


def ensure_demo(
    cache_dir: Path, *, progress: ProgressCallback | None = None, cancel=None, task: str = "level1"
) -> Path:
    """Build what the demo lacks and return its manifest path.

    Each step is skipped when its output exists, so an interrupted first run resumes.
    """
    from corebt_viewer.io.manifest import read_cohort

    root = demo_root(cache_dir)
    manifest = root / "manifest.csv"
    if demo_is_ready(cache_dir):
        return manifest
    if not manifest.exists():
        from corebt_viewer.services.demo import make_demo_cohort

        report(progress, 0, 3, "generating the demo cohort", "demo")
        manifest = Path(
            make_demo_cohort(
                out=root,
                patients=DEMO_PATIENTS,
                slide_size=DEMO_SLIDE_SIZE,
                progress=progress,
                cancel=cancel,
            )
        )
    cohort = read_cohort(manifest)
    from corebt_viewer.services.embedding import builtin_profile, embed_cohort

    report(progress, 1, 3, "embedding the demo cohort", "embed")
    profile = builtin_profile()
    embed_cohort(cohort=cohort, profile=profile, progress=progress, cancel=cancel)
    model_dir = cohort.root / ".corebt" / "models" / task
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        from corebt_viewer.services.fusion import train_model

        report(progress, 2, 3, "training the demo model", "train")
        train_model(cohort=cohort, task=task, out=model_dir, profile=profile, progress=progress)
    report(progress, 3, 3, "demo ready", "demo")
    (root / DONE_STAMP).write_text("ok\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """``python -m corebt_viewer.gui.demo_setup CACHE_DIR``: build the demo, one line per step.

    The viewer runs this in a child process, so a crash in a native library while
    embedding cannot take the window down; progress lines are ``PROGRESS done total
    stage message`` and the last line ``MANIFEST path``.
    """
    import sys

    from corebt_viewer.core.errors import CoreBTError

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m corebt_viewer.gui.demo_setup CACHE_DIR", file=sys.stderr)
        return 2

    def progress(event) -> None:
        message = " ".join(str(event.message).split())
        print(f"PROGRESS {event.done} {event.total} {event.stage or '-'} {message}", flush=True)

    try:
        manifest = ensure_demo(Path(args[0]), progress=progress)
    except CoreBTError as exc:
        print(f"ERROR {exc}", flush=True)
        return 1
    print(f"MANIFEST {manifest}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
