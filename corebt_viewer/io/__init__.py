"""Readers and writers: NIfTI, slides, reports, cohort manifests (they return core objects)."""
