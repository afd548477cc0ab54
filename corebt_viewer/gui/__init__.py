"""The desktop viewer (PySide6 + napari). The only package that imports Qt or napari."""
