"""Errors that carry the file and the problem, for clear messages in the CLI and GUI."""

from __future__ import annotations

from pathlib import Path


class CoreBTError(Exception):
    """Base class of the project's expected errors (never shown as a traceback)."""


class InputError(CoreBTError):
    """A file that cannot be used: unreadable, corrupt, mismatched or mislabelled.

    Parameters
    ----------
    path : path-like or None
        The offending file.
    problem : str
        What is wrong, in words a user understands.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class ManifestError(CoreBTError):
    """A problem with one row of a cohort manifest.

    Parameters
    ----------
    manifest : Path
    row : int or None
        1-based line number in the CSV (the header is line 1).
    problem : str
    path : Path or None
        The file of that row that is at fault, if any.
    """

    def __init__(self, manifest: Path, row: int | None, problem: str, path: Path | None = None):
        self.manifest = Path(manifest)
        self.row = row
        self.problem = problem
        self.path = path
        where = f"{self.manifest}" + (f":{row}" if row is not None else "")
        super().__init__(f"{where}: {problem}")
