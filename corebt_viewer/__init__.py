"""CoRe-BT Viewer: brain-tumour typing from MRI, whole-slide pathology and the report.

The package is layered, with dependencies pointing one way::

    core  <-  io  <-  embed, fusion  <-  services  <-  cli, gui

Only :mod:`corebt_viewer.gui` imports Qt or napari; torch, OpenSlide and nibabel are
imported lazily so that ``corebt --help`` starts at once.
"""

__version__ = "0.1.0"
