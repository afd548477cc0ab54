"""The synthetic demo cohort: MRI phantoms, H&E slides, neuropathology reports, manifest.

Modules
-------
plan
    Which class, grade and modalities each patient has (a pure function of seed and index).
phantom
    Brain MRI phantom on a 1 mm RAS grid with class-typical tumours and BraTS masks.
histology, slide_writer
    H&E-like tissue rendered tile by tile and written as Aperio-style pyramidal TIFFs.
reports
    Neuropathology report text.
cohort
    Writes a patient's files and the ``manifest.csv``.

The three modalities carry partial and complementary information, so that fusing them beats
each one alone: MRI separates enhancing/necrotic tumours (glioblastoma, grade 4) from
non-enhancing ones and locates midline and cerebellar tumours, but confuses IDH-mutant
astrocytoma with oligodendroglioma and grade-4 astrocytoma with glioblastoma; histology
separates oligodendroglioma (halos, chicken-wire capillaries) from astrocytoma well but not
glioblastoma from grade-4 astrocytoma, and some slides sample the infiltrating edge; reports
tell IDH status (IDH1 R132H, ATRX) and sometimes 1p/19q, but often leave the integrated
diagnosis pending, and a few are ambiguous or misleading.
"""
