"""What a scan of a DICOM folder found: series described by allow-listed attributes only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corebt_viewer.core.errors import InputError


@dataclass(frozen=True)
class DicomSeries:
    """One series (one SeriesInstanceUID) of a DICOM folder.

    Every field comes from :data:`~corebt_viewer.io.dicom.tags.SAFE_TAGS` or from counting;
    no patient attribute is kept.

    Attributes
    ----------
    uid : str
        SeriesInstanceUID.
    number : int or None
        SeriesNumber.
    description, protocol : str
        SeriesDescription and ProtocolName ("" when absent).
    sequence_name : str
        SequenceName, or PulseSequenceName for enhanced files.
    scanning_sequence, sequence_variant, acquisition_type : str
        ScanningSequence (EchoPulseSequence for enhanced files), SequenceVariant,
        MRAcquisitionType ("2D"/"3D").
    image_type : tuple of str
        ImageType values, upper case (e.g. ``("ORIGINAL", "PRIMARY", "M")``).
    modality : str
    contrast_agent : str
        ContrastBolusAgent (or the enhanced agent's code meaning); "" when none.
    echo_time, repetition_time, inversion_time : float or None
        In ms.
    files : tuple of Path
        The files of the series, sorted by path.
    n_frames : int
        Images in the series (slices, or frames of multi-frame files).
    rows, columns : int
    enhanced : bool
        Whether the series is stored as multi-frame (Enhanced MR) files.
    patient : int
        Which patient of the folder it belongs to (0, 1...); the identity itself is not kept.
    """

    uid: str
    number: int | None
    description: str
    protocol: str
    sequence_name: str
    scanning_sequence: str
    sequence_variant: str
    acquisition_type: str
    image_type: tuple[str, ...]
    modality: str
    contrast_agent: str
    echo_time: float | None
    repetition_time: float | None
    inversion_time: float | None
    files: tuple[Path, ...]
    n_frames: int
    rows: int
    columns: int
    enhanced: bool
    patient: int = 0

    @property
    def label(self) -> str:
        """Short name for messages: ``series 3 'T1 AX POST'``."""
        number = "?" if self.number is None else str(self.number)
        name = self.description or self.protocol or "no description"
        return f"series {number} '{name}'"

    def to_dict(self) -> dict:
        """The allow-listed description as JSON-ready values (file count, not names)."""
        return {
            "uid": self.uid,
            "number": self.number,
            "description": self.description,
            "protocol": self.protocol,
            "sequence_name": self.sequence_name,
            "scanning_sequence": self.scanning_sequence,
            "sequence_variant": self.sequence_variant,
            "acquisition_type": self.acquisition_type,
            "image_type": list(self.image_type),
            "modality": self.modality,
            "contrast_agent": self.contrast_agent,
            "echo_time": self.echo_time,
            "repetition_time": self.repetition_time,
            "inversion_time": self.inversion_time,
            "n_files": len(self.files),
            "n_frames": self.n_frames,
            "rows": self.rows,
            "columns": self.columns,
            "enhanced": self.enhanced,
        }


@dataclass(frozen=True)
class DicomScan:
    """Every series of a folder tree, plus the files that were not used and why.

    Attributes
    ----------
    folder : Path
    series : tuple of DicomSeries
        Sorted by series number, then UID.
    skipped : tuple of (Path, str)
        Files that are not DICOM images, or duplicates, with the reason.
    n_patients : int
        Distinct patients among the images (compared, never shown).
    """

    folder: Path
    series: tuple[DicomSeries, ...]
    skipped: tuple[tuple[Path, str], ...] = field(default_factory=tuple)
    n_patients: int = 1

    def find(self, key: str | int) -> DicomSeries:
        """The series with this UID or series number.

        Raises
        ------
        InputError
            When no series, or several series, match.
        """
        text = str(key).strip()
        found = [s for s in self.series if s.uid == text]
        if not found:
            found = [s for s in self.series if s.number is not None and str(s.number) == text]
        if not found:
            raise InputError(self.folder, f"no DICOM series with UID or number {text}")
        if len(found) > 1:
            names = ", ".join(s.uid for s in found)
            raise InputError(self.folder, f"series number {text} is shared by {names}; use a UID")
        return found[0]

    def check_single_patient(self) -> None:
        """Raise when the folder mixes patients, saying which series, never who.

        Raises
        ------
        InputError
        """
        if self.n_patients <= 1:
            return
        groups: dict[int, list[str]] = {}
        for s in self.series:
            groups.setdefault(s.patient, []).append(s.label)
        parts = "; ".join(
            f"patient {p + 1}: {', '.join(labels)}" for p, labels in sorted(groups.items())
        )
        raise InputError(
            self.folder,
            f"holds images of {self.n_patients} different patients (patient IDs differ; "
            f"not shown): {parts}. Put each patient in a folder of its own",
        )
