"""DICOM MRI: find series in a patient folder, assign them to sequences, read volumes.

Importing this package is cheap: pydicom and nibabel are imported inside the functions.

- :func:`scan_folder` -> :class:`DicomScan` of :class:`DicomSeries`
- :func:`classify` -> :class:`Classification`
- :func:`propose_assignment`, :func:`change_assignment`, :func:`save_assignment`,
  :func:`load_assignment`, :func:`assignment_path` -> :class:`Assignment`
- :func:`read_series_volume` -> :class:`~corebt_viewer.core.volume.Volume` (RAS, float32)
- :func:`write_derived_nifti`, :func:`derived_nifti_path`
"""

from corebt_viewer.io.dicom.assignment import (
    Assignment,
    assignment_path,
    change_assignment,
    load_assignment,
    propose_assignment,
    save_assignment,
)
from corebt_viewer.io.dicom.export import derived_nifti_path, write_derived_nifti
from corebt_viewer.io.dicom.rules import Classification, classify
from corebt_viewer.io.dicom.scan import has_dicom_files, scan_folder
from corebt_viewer.io.dicom.series import DicomScan, DicomSeries
from corebt_viewer.io.dicom.tags import IDENTIFYING_TAGS, SAFE_TAGS
from corebt_viewer.io.dicom.volume import read_series_volume, series_folder

__all__ = [
    "IDENTIFYING_TAGS",
    "SAFE_TAGS",
    "Assignment",
    "Classification",
    "DicomScan",
    "DicomSeries",
    "assignment_path",
    "change_assignment",
    "classify",
    "derived_nifti_path",
    "has_dicom_files",
    "load_assignment",
    "propose_assignment",
    "read_series_volume",
    "save_assignment",
    "scan_folder",
    "series_folder",
    "write_derived_nifti",
]
