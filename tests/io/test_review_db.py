"""Review database: statuses, history, mask versions, CSV, schema, two writing processes."""

from __future__ import annotations

import csv
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.review import ReviewStatus
from corebt_viewer.io.review_db import SCHEMA_VERSION, ReviewDB, review_db_path

CASES = ["P001", "P002", "P003", "P004"]


@pytest.fixture
def db(tmp_path: Path):
    with ReviewDB.for_cohort(tmp_path) as database:
        yield database


def test_database_lives_in_cohort_folder_in_wal_mode(tmp_path: Path, db: ReviewDB):
    assert db.path == tmp_path / ".corebt" / "review.sqlite" == review_db_path(tmp_path)
    assert db.path.is_file()
    assert db.journal_mode == "wal"
    assert db.schema_version == SCHEMA_VERSION
    assert db.integrity_check() == "ok"


def test_status_reviewer_notes_and_timestamps(db: ReviewDB):
    assert db.get("P001").status is ReviewStatus.NOT_STARTED
    first = db.set_status("P001", "in progress", reviewer="ana", notes="check oedema")
    assert (first.status, first.reviewer, first.notes) == (
        ReviewStatus.IN_PROGRESS,
        "ana",
        "check oedema",
    )
    assert first.started_at and first.finished_at is None

    db.update("P001", append_note="oedema fixed")
    done = db.set_status("P001", ReviewStatus.DONE)
    assert done.reviewer == "ana"  # kept
    assert done.notes == "check oedema\noedema fixed"
    assert done.started_at == first.started_at
    assert done.finished_at == done.updated_at >= first.updated_at
    assert db.get("P001") == done
    assert [e["status"] for e in db.history("P001")] == ["in_progress", "in_progress", "done"]
    with pytest.raises(ValueError, match="unknown review status"):
        db.set_status("P001", "finished")


def test_next_case_skips_finished_and_wraps(db: ReviewDB):
    db.set_status("P001", "done")
    db.set_status("P002", "flagged")
    db.set_status("P003", "in_progress")
    assert db.next_case(CASES) == "P003"
    assert db.next_case(CASES, after="P003") == "P004"
    db.set_status("P004", "done")
    assert db.next_case(CASES, after="P003") == "P003"  # only the current one is left
    assert db.next_case(CASES, after="P001", statuses={ReviewStatus.FLAGGED}) == "P002"
    db.set_status("P003", "done")
    assert db.next_case(CASES) is None


def test_mask_versions_and_current_flag(tmp_path: Path, db: ReviewDB):
    v1 = tmp_path / "P001" / "seg.v001.nii.gz"
    v2 = tmp_path / "P001" / "seg.v002.nii.gz"
    db.add_mask_version("P001", file=v1, sha256="a" * 64, author="ana", voxels_changed=10)
    db.add_mask_version("P001", file=v2, sha256="b" * 64, author="bo", voxels_changed=25)
    versions = db.mask_versions("P001")
    assert [v.file for v in versions] == ["P001/seg.v001.nii.gz", "P001/seg.v002.nii.gz"]
    assert [v.is_current for v in versions] == [False, True]
    assert db.resolve(versions[0].file) == v1

    db.set_current_mask_version("P001", v1)
    assert db.current_mask_version("P001").sha256 == "a" * 64
    db.set_current_mask_version("P001", None)  # back to the original
    assert db.current_mask_version("P001") is None
    with pytest.raises(InputError):
        db.set_current_mask_version("P001", tmp_path / "other.nii.gz")
    with pytest.raises(sqlite3.IntegrityError):  # one record per file
        db.add_mask_version("P001", file=v1, sha256="c" * 64, author="ana", voxels_changed=1)


def test_export_csv_lists_every_case(tmp_path: Path, db: ReviewDB):
    db.set_status("P002", "done", reviewer="ana", notes='tricky, "ring" enhancement')
    db.add_mask_version(
        "P002",
        file=tmp_path / "P002" / "seg.v001.nii.gz",
        sha256="f" * 64,
        author="ana",
        voxels_changed=7,
    )
    db.set_status("EXTRA", "flagged")
    out = db.export_csv(tmp_path / "review.csv", CASES)
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["case_id"] for r in rows] == CASES + ["EXTRA"]
    p2 = rows[1]
    assert p2["status"] == "done" and p2["notes"] == 'tricky, "ring" enhancement'
    assert p2["mask_versions"] == "1" and p2["current_mask"] == "P002/seg.v001.nii.gz"
    assert p2["voxels_changed"] == "7"
    assert rows[0]["status"] == "not_started"


def test_newer_schema_and_garbage_are_input_errors(tmp_path: Path):
    path = tmp_path / "review.sqlite"
    ReviewDB(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(InputError, match="newer"):
        ReviewDB(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError) as info:
        ReviewDB(junk)
    assert info.value.path == junk


N_WRITES = 150


def _hammer(root: str, name: str, start, n: int) -> None:
    """Worker process: many small transactions on shared and own rows."""
    start.wait()
    db = ReviewDB.for_cohort(root, timeout=60)
    for i in range(n):
        db.update("SHARED", status="in_progress", reviewer=name, append_note=f"{name}-{i}")
        db.set_status(f"{name}-{i % 10}", "done" if i % 2 else "flagged", reviewer=name)
        if i == 0:
            start.wait()  # both have written once: from here on they overlap for sure
        if i % 5 == 0:
            db.add_mask_version(
                "SHARED",
                file=f"SHARED/seg.{name}.{i:04d}.nii.gz",
                sha256=f"{i:064d}",
                author=name,
                voxels_changed=i,
            )
    db.close()


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path):
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_hammer, args=(str(tmp_path), name, start, N_WRITES))
        for name in ("ana", "bo")
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
        assert proc.exitcode == 0, "a writer process failed"

    with ReviewDB.for_cohort(tmp_path) as db:
        assert db.integrity_check() == "ok"
        lines = db.get("SHARED").notes.split("\n")
        assert len(lines) == 2 * N_WRITES  # no appended note lost to a concurrent update
        for name in ("ana", "bo"):
            assert [ln for ln in lines if ln.startswith(name)] == [
                f"{name}-{i}" for i in range(N_WRITES)
            ]
        assert len(db.history("SHARED")) == 2 * N_WRITES
        assert len(db.reviews()) == 1 + 20
        versions = db.mask_versions("SHARED")
        assert len(versions) == 2 * (N_WRITES // 5)
        assert sum(v.is_current for v in versions) == 1
        # Both processes interleaved (the writes really were concurrent).
        hosts = [e["pid"] for e in db.history("SHARED")]
        switches = sum(a != b for a, b in zip(hosts, hosts[1:], strict=False))
        assert switches > 1
