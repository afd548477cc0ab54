"""Review fields written one at a time with compare-and-set, by two processes at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from corebt_viewer.io.review_db import ReviewDB


def _annotator(root: str, name: str, field: str, value: str, start, results) -> None:
    """Worker process: read the case, wait for the other, write one field over what it read."""
    db = ReviewDB.for_cohort(root, timeout=60)
    seen = db.get("CASE")
    start.wait()
    expected = getattr(seen, field)
    expected = getattr(expected, "value", expected)
    result = db.set_field("CASE", field, value, expected=expected)
    results.put((name, result.written, result.theirs))
    db.close()


def _run(tmp_path: Path, jobs) -> dict[str, tuple[bool, str]]:
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(len(jobs)), ctx.Queue()
    procs = [
        ctx.Process(target=_annotator, args=(str(tmp_path), *job, start, results)) for job in jobs
    ]
    for proc in procs:
        proc.start()
    out = {}
    for _ in procs:
        name, written, theirs = results.get(timeout=120)
        out[name] = (written, theirs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    return out


def test_two_processes_editing_notes_lose_nothing(tmp_path: Path):
    with ReviewDB.for_cohort(tmp_path) as db:
        db.update("CASE", notes="first draft")
    out = _run(tmp_path, [("ana", "notes", "ana's notes"), ("bo", "notes", "bo's notes")])
    written = [name for name, (ok, _) in out.items() if ok]
    assert len(written) == 1, out  # one wins; the other is told, not overwritten
    winner = written[0]
    loser = next(n for n in out if n != winner)
    assert out[loser] == (False, f"{winner}'s notes")  # the loser sees the winner's text
    with ReviewDB.for_cohort(tmp_path) as db:
        assert db.get("CASE").notes == f"{winner}'s notes"
        assert len(db.history("CASE")) == 2  # the draft and the winner's write only


def test_two_processes_writing_different_fields_both_keep_theirs(tmp_path: Path):
    out = _run(tmp_path, [("ana", "status", "done"), ("bo", "notes", "bo's notes")])
    assert all(ok for ok, _ in out.values()), out
    with ReviewDB.for_cohort(tmp_path) as db:
        review = db.get("CASE")
    assert review.status.value == "done" and review.notes == "bo's notes"


def test_set_field_rejects_unknown_fields_and_writes_when_equal(tmp_path: Path):
    with ReviewDB.for_cohort(tmp_path) as db:
        with pytest.raises(ValueError, match="unknown review field"):
            db.set_field("CASE", "finished_at", "x", expected="")
        assert db.set_field("CASE", "reviewer", "ana", expected="").written
        # the same value already there: nothing to do, no conflict
        assert db.set_field("CASE", "reviewer", "ana", expected="bo").written
        stale = db.set_field("CASE", "reviewer", "cy", expected="")
        assert not stale.written and stale.theirs == "ana"
