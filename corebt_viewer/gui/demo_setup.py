"""First-run set-up of the demo: cohort, embeddings and a Level-1 model in the user cache."""

from __future__ import annotations

from pathlib import Path

from corebt_viewer.core.progress import ProgressCallback, report

DEMO_VERSION = "v1"
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
        manifest = Path(make_demo_cohort(out=root, progress=progress))
    cohort = read_cohort(manifest)
    from corebt_viewer.services.embedding import embed_cohort

    report(progress, 1, 3, "embedding the demo cohort", "embed")
    embed_cohort(cohort=cohort, progress=progress, cancel=cancel)
    model_dir = cohort.root / ".corebt" / "models" / task
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        from corebt_viewer.services.fusion import train_model

        report(progress, 2, 3, "training the demo model", "train")
        train_model(cohort=cohort, task=task, out=model_dir, progress=progress)
    report(progress, 3, 3, "demo ready", "demo")
    (root / DONE_STAMP).write_text("ok\n")
    return manifest
