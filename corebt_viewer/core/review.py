"""Review state of a case and the record of a saved mask version (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReviewStatus(StrEnum):
    """Where the review of a case stands."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FLAGGED = "flagged"

    @property
    def title(self) -> str:
        return {
            "not_started": "Not started",
            "in_progress": "In progress",
            "done": "Done",
            "flagged": "Flagged",
        }[self.value]

    @classmethod
    def parse(cls, text: str | ReviewStatus) -> ReviewStatus:
        """Parse ``"done"``, ``"in progress"``, ``"In-Progress"``... into a status."""
        if isinstance(text, ReviewStatus):
            return text
        key = str(text).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown review status {text!r}; expected one of {names}") from None


#: Statuses that "next case to review" stops at.
UNFINISHED: frozenset[ReviewStatus] = frozenset(
    {ReviewStatus.NOT_STARTED, ReviewStatus.IN_PROGRESS}
)


@dataclass(frozen=True)
class CaseReview:
    """Review state of one case.

    Attributes
    ----------
    case_id : str
    status : ReviewStatus
    reviewer, notes : str
        Empty when not given.
    started_at, updated_at, finished_at : str or None
        ISO 8601 UTC timestamps (first change, last change, last time set to done).
    """

    case_id: str
    status: ReviewStatus = ReviewStatus.NOT_STARTED
    reviewer: str = ""
    notes: str = ""
    started_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None


@dataclass(frozen=True)
class MaskVersionRecord:
    """A saved mask version as recorded in the review database.

    Attributes
    ----------
    case_id : str
    file : str
        Path of the version file (as given when it was recorded).
    sha256 : str
        Hex digest of the file's bytes.
    author : str
    created_at : str
        ISO 8601 UTC timestamp.
    voxels_changed : int
        Voxels that differ from the original mask.
    is_current : bool
        The version the case uses now (none current: the original is).
    """

    case_id: str
    file: str
    sha256: str
    author: str
    created_at: str
    voxels_changed: int
    is_current: bool = False
