"""napari plugin (npe2): readers, a labels writer, dock widgets and the demo case.

The contributions are declared in ``napari.yaml`` beside this file and reach napari
through the ``napari.manifest`` entry point. Everything converts core objects to layers
through :mod:`corebt_viewer.gui.layers`; nothing here reads files itself.
"""
