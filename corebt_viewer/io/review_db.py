"""The review database of a cohort: SQLite in ``<cohort>/.corebt/review.sqlite``.

Per case it keeps the review status, the reviewer, notes and timestamps, a history of every
change, and every saved mask version (file, sha256, author, time, voxels changed, which one
is current). Several processes (two annotators on a shared folder) may write at once: the
database runs in WAL mode with a busy timeout, and every write is one ``BEGIN IMMEDIATE``
transaction, so read-modify-write updates never interleave and no write is lost.

WAL needs shared memory, which network file systems (NFS, SMB) do not provide; there SQLite
falls back to its rollback journal (see :attr:`ReviewDB.journal_mode`), still safe but slower.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corebt_viewer.core.errors import InputError
from corebt_viewer.core.review import UNFINISHED, CaseReview, MaskVersionRecord, ReviewStatus

#: Schema version written to ``PRAGMA user_version``.
SCHEMA_VERSION = 1
#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 30.0
DB_NAME = "review.sqlite"
#: The fields of a case's review that :meth:`ReviewDB.set_field` writes one at a time.
REVIEW_FIELDS = ("status", "reviewer", "notes")

_STATUS_CHECK = ", ".join(f"'{s.value}'" for s in ReviewStatus)
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        f"""CREATE TABLE case_review (
            case_id TEXT PRIMARY KEY,
            status TEXT NOT NULL CHECK (status IN ({_STATUS_CHECK})),
            reviewer TEXT NOT NULL DEFAULT '',
            notes TEXT NOT NULL DEFAULT '',
            started_at TEXT,
            updated_at TEXT,
            finished_at TEXT
        )""",
        """CREATE TABLE review_event (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_id TEXT NOT NULL,
            at TEXT NOT NULL,
            status TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            notes TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL
        )""",
        "CREATE INDEX review_event_case ON review_event (case_id, id)",
        """CREATE TABLE mask_version (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_id TEXT NOT NULL,
            file TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            voxels_changed INTEGER NOT NULL,
            is_current INTEGER NOT NULL DEFAULT 0,
            UNIQUE (case_id, file)
        )""",
        "CREATE INDEX mask_version_case ON mask_version (case_id, id)",
    ),
}

CSV_COLUMNS = (
    "case_id",
    "status",
    "reviewer",
    "notes",
    "started_at",
    "updated_at",
    "finished_at",
    "mask_versions",
    "current_mask",
    "current_mask_sha256",
    "voxels_changed",
)


@dataclass(frozen=True)
class FieldWrite:
    """Result of :meth:`ReviewDB.set_field`.

    Attributes
    ----------
    written : bool
        False: the field held another value than expected (a concurrent edit); nothing
        was written.
    review : CaseReview
        The state after the write, or the state found when it was not written.
    field : str
    """

    written: bool
    review: CaseReview
    field: str

    @property
    def theirs(self) -> str:
        """The value found in the database (what the other writer left)."""
        return _field_value(self.review, self.field)


def _field_value(review: CaseReview, field: str) -> str:
    value = getattr(review, field)
    return value.value if isinstance(value, ReviewStatus) else str(value)


def now_iso() -> str:
    """Current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def review_db_path(cohort_root: str | Path) -> Path:
    """``<cohort_root>/.corebt/review.sqlite``."""
    return Path(cohort_root) / ".corebt" / DB_NAME


class ReviewDB:
    """Review state of a cohort's cases in SQLite.

    Parameters
    ----------
    path : path-like
        The database file (created with its folder when absent).
    root : path-like, optional
        Folder that mask file paths are stored relative to (the cohort root), so a shared
        folder mounted at different places still resolves.
    timeout : float
        Busy timeout in seconds.

    Examples
    --------
    >>> db = ReviewDB.for_cohort(root)                                    # doctest: +SKIP
    >>> db.set_status("P001", "in_progress", reviewer="ana")              # doctest: +SKIP
    >>> db.next_case(["P001", "P002"])                                    # doctest: +SKIP
    """

    def __init__(
        self, path: str | Path, *, root: str | Path | None = None, timeout: float = BUSY_TIMEOUT_S
    ):
        self.path = Path(path)
        self.root = Path(root) if root is not None else None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise InputError(self.path, f"cannot open the review database: {exc}") from None
        self._lock = threading.RLock()
        self._host = socket.gethostname()
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self.journal_mode = self._retry_locked(
                lambda: self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0], timeout
            )
            self._conn.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise InputError(self.path, f"not a usable review database: {exc}") from None

    @staticmethod
    def _retry_locked(action, timeout: float):
        """Run `action`, retrying while another process holds the lock (SQLite does not
        apply the busy timeout to every statement, e.g. switching the journal mode)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @classmethod
    def for_cohort(cls, cohort_root: str | Path, **kwargs) -> ReviewDB:
        """The database of the cohort in `cohort_root`."""
        return cls(review_db_path(cohort_root), root=cohort_root, **kwargs)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ReviewDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the database write lock from the start."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputError(
                    self.path,
                    f"review database schema {version} is newer than this program "
                    f"understands ({SCHEMA_VERSION}); update CoRe-BT Viewer",
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step}")

    @property
    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version")[0][0])

    def integrity_check(self) -> str:
        """SQLite's own check: ``"ok"`` for a sound database."""
        return str(self._read("PRAGMA integrity_check")[0][0])

    def _relative(self, file: str | Path) -> str:
        path = Path(file)
        if self.root is not None and path.is_absolute():
            try:
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return path.as_posix()

    def resolve(self, file: str) -> Path:
        """Absolute path of a mask file as stored (relative to the cohort root)."""
        path = Path(file)
        return path if path.is_absolute() or self.root is None else self.root / path

    # ------------------------------------------------------------------ review state

    @staticmethod
    def _review(row: tuple) -> CaseReview:
        return CaseReview(row[0], ReviewStatus(row[1]), row[2], row[3], row[4], row[5], row[6])

    def get(self, case_id: str) -> CaseReview:
        """Review state of `case_id` (``NOT_STARTED`` when never touched)."""
        rows = self._read("SELECT * FROM case_review WHERE case_id = ?", (case_id,))
        return self._review(rows[0]) if rows else CaseReview(case_id)

    def reviews(self, case_ids: Iterable[str] | None = None) -> dict[str, CaseReview]:
        """Review state of the given cases (in that order), or of every recorded case."""
        found = {
            row[0]: self._review(row)
            for row in self._read("SELECT * FROM case_review ORDER BY case_id")
        }
        if case_ids is None:
            return found
        return {cid: found.get(cid, CaseReview(cid)) for cid in case_ids}

    def update(
        self,
        case_id: str,
        *,
        status: ReviewStatus | str | None = None,
        reviewer: str | None = None,
        notes: str | None = None,
        append_note: str | None = None,
    ) -> CaseReview:
        """Change the review of a case in one transaction; ``None`` keeps a field as it is.

        Parameters
        ----------
        case_id : str
        status : ReviewStatus or str, optional
        reviewer : str, optional
        notes : str, optional
            Replaces the notes.
        append_note : str, optional
            Adds a line to the notes (read and written under the write lock, so two
            annotators appending at once both keep their line).

        Returns
        -------
        CaseReview
            The state after the change.
        """
        if not case_id:
            raise ValueError("case_id must not be empty")
        with self._write() as conn:
            old = self._current(conn, case_id)
            return self._apply(conn, old, status, reviewer, notes, append_note)

    def _current(self, conn: sqlite3.Connection, case_id: str) -> CaseReview:
        row = conn.execute("SELECT * FROM case_review WHERE case_id = ?", (case_id,)).fetchone()
        return self._review(row) if row else CaseReview(case_id)

    def set_field(self, case_id: str, field: str, value: str, *, expected: str) -> FieldWrite:
        """Write one field of a case's review only if it still holds `expected`.

        Compare-and-set: an annotator's edit is written only over the value they saw, so a
        change another process made meanwhile is reported, never overwritten.

        Parameters
        ----------
        case_id : str
        field : {"status", "reviewer", "notes"}
        value : str
            The new value (a status by name or value).
        expected : str
            The value the writer last read (``ReviewStatus`` value for the status).

        Returns
        -------
        FieldWrite
            ``written`` False when the field held something else: ``review`` is then
            the state found, and nothing was written.
        """
        if field not in REVIEW_FIELDS:
            raise ValueError(f"unknown review field {field!r}; use one of {REVIEW_FIELDS}")
        if not case_id:
            raise ValueError("case_id must not be empty")
        with self._write() as conn:
            old = self._current(conn, case_id)
            found = _field_value(old, field)
            wanted = ReviewStatus.parse(value).value if field == "status" else value
            if found == wanted:
                return FieldWrite(True, old, field)
            if found != (ReviewStatus.parse(expected).value if field == "status" else expected):
                return FieldWrite(False, old, field)
            new = self._apply(conn, old, **{field: value})
        return FieldWrite(True, new, field)

    def _apply(
        self,
        conn: sqlite3.Connection,
        old: CaseReview,
        status: ReviewStatus | str | None = None,
        reviewer: str | None = None,
        notes: str | None = None,
        append_note: str | None = None,
    ) -> CaseReview:
        case_id = old.case_id
        new_status = ReviewStatus.parse(status) if status is not None else None
        text = old.notes if notes is None else notes
        if append_note:
            text = f"{text}\n{append_note}" if text else append_note
        at = now_iso()
        final = new_status or old.status
        new = CaseReview(
            case_id,
            final,
            old.reviewer if reviewer is None else reviewer,
            text,
            old.started_at or at,
            at,
            at if new_status is ReviewStatus.DONE else old.finished_at,
        )
        conn.execute(
            "INSERT INTO case_review VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET "
            "status = excluded.status, reviewer = excluded.reviewer, notes = excluded.notes, "
            "started_at = excluded.started_at, updated_at = excluded.updated_at, "
            "finished_at = excluded.finished_at",
            (
                new.case_id,
                new.status.value,
                new.reviewer,
                new.notes,
                new.started_at,
                new.updated_at,
                new.finished_at,
            ),
        )
        conn.execute(
            "INSERT INTO review_event (case_id, at, status, reviewer, notes, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                at,
                final.value,
                new.reviewer,
                append_note or (notes or ""),
                self._host,
                os.getpid(),
            ),
        )
        return new

    def set_status(
        self,
        case_id: str,
        status: ReviewStatus | str,
        *,
        reviewer: str | None = None,
        notes: str | None = None,
    ) -> CaseReview:
        """Set the status (and optionally reviewer and notes) of a case."""
        return self.update(case_id, status=status, reviewer=reviewer, notes=notes)

    def history(self, case_id: str) -> list[dict[str, object]]:
        """Every recorded change of a case, oldest first."""
        rows = self._read(
            "SELECT at, status, reviewer, notes, host, pid FROM review_event WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        keys = ("at", "status", "reviewer", "notes", "host", "pid")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def next_case(
        self,
        case_ids: Sequence[str],
        *,
        after: str | None = None,
        statuses: Iterable[ReviewStatus] = UNFINISHED,
    ) -> str | None:
        """The next case in `case_ids` order (after `after`, wrapping round) still to review.

        Returns
        -------
        str or None
            None when every case is finished (status outside `statuses`).
        """
        wanted = set(statuses)
        reviews = self.reviews(case_ids)
        order = list(case_ids)
        start = order.index(after) + 1 if after in order else 0
        for cid in order[start:] + order[:start]:
            if cid != after and reviews[cid].status in wanted:
                return cid
        if after in reviews and reviews[after].status in wanted:
            return after
        return None

    # ------------------------------------------------------------------ mask versions

    @staticmethod
    def _version(row: tuple) -> MaskVersionRecord:
        return MaskVersionRecord(row[0], row[1], row[2], row[3], row[4], int(row[5]), bool(row[6]))

    def add_mask_version(
        self,
        case_id: str,
        *,
        file: str | Path,
        sha256: str,
        author: str,
        voxels_changed: int,
        make_current: bool = True,
    ) -> MaskVersionRecord:
        """Record a saved mask version (and, by default, make it the current one)."""
        at = now_iso()
        rel = self._relative(file)
        with self._write() as conn:
            if make_current:
                conn.execute("UPDATE mask_version SET is_current = 0 WHERE case_id = ?", (case_id,))
            conn.execute(
                "INSERT INTO mask_version (case_id, file, sha256, author, created_at, voxels_changed, is_current) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (case_id, rel, sha256, author, at, int(voxels_changed), int(make_current)),
            )
        return MaskVersionRecord(
            case_id, rel, sha256, author, at, int(voxels_changed), make_current
        )

    def mask_versions(self, case_id: str) -> list[MaskVersionRecord]:
        """Recorded versions of a case's mask, oldest first."""
        rows = self._read(
            "SELECT case_id, file, sha256, author, created_at, voxels_changed, is_current "
            "FROM mask_version WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [self._version(row) for row in rows]

    def current_mask_version(self, case_id: str) -> MaskVersionRecord | None:
        """The current recorded version, or None when the original mask is current."""
        return next((v for v in self.mask_versions(case_id) if v.is_current), None)

    def set_current_mask_version(self, case_id: str, file: str | Path | None) -> None:
        """Make a recorded version current; ``None`` makes the original current again."""
        with self._write() as conn:
            if file is not None:
                rel = self._relative(file)
                hit = conn.execute(
                    "SELECT 1 FROM mask_version WHERE case_id = ? AND file = ?", (case_id, rel)
                ).fetchone()
                if hit is None:
                    raise InputError(file, f"no recorded mask version of case {case_id}")
            conn.execute("UPDATE mask_version SET is_current = 0 WHERE case_id = ?", (case_id,))
            if file is not None:
                conn.execute(
                    "UPDATE mask_version SET is_current = 1 WHERE case_id = ? AND file = ?",
                    (case_id, rel),
                )

    # ------------------------------------------------------------------ export

    def table(self, case_ids: Iterable[str] | None = None) -> list[dict[str, object]]:
        """One row per case (columns :data:`CSV_COLUMNS`); recorded cases not listed come last."""
        ids = list(case_ids) if case_ids is not None else []
        reviews = self.reviews()
        ids += [cid for cid in reviews if cid not in set(ids)]
        counts = dict(self._read("SELECT case_id, COUNT(*) FROM mask_version GROUP BY case_id"))
        current = {
            row[0]: row[1:]
            for row in self._read(
                "SELECT case_id, file, sha256, voxels_changed FROM mask_version WHERE is_current = 1"
            )
        }
        rows = []
        for cid in ids:
            review = reviews.get(cid, CaseReview(cid))
            file, digest, changed = current.get(cid, ("", "", ""))
            rows.append(
                {
                    "case_id": cid,
                    "status": review.status.value,
                    "reviewer": review.reviewer,
                    "notes": review.notes,
                    "started_at": review.started_at or "",
                    "updated_at": review.updated_at or "",
                    "finished_at": review.finished_at or "",
                    "mask_versions": counts.get(cid, 0),
                    "current_mask": file,
                    "current_mask_sha256": digest,
                    "voxels_changed": changed,
                }
            )
        return rows

    def export_csv(self, path: str | Path, case_ids: Iterable[str] | None = None) -> Path:
        """Write :meth:`table` as CSV (UTF-8, atomically)."""
        from corebt_viewer.io.atomic_files import atomic_write_bytes

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.table(case_ids))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
