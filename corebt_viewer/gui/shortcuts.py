"""Keyboard shortcuts of the viewer, in one table (the Help menu lists it).

None is one of napari's own keys (its layer modes, the labels and shapes tools, its
viewer keys), so napari's keys keep working on the canvases, and none is a menu's
Alt mnemonic; ``tests/gui/test_shortcut_table.py`` checks both against napari's table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    action: str  # identifier the main window binds
    keys: str  # Qt key sequence
    text: str  # what it does, for menus and the Help dialog
    group: str


#: The slide's region and measuring tools (napari's own Shapes keys, P, R, Delete..., also
#: work on the Regions layer when the slide canvas has the focus).
REGION_SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("regions_pan", "Alt+N", "Regions: pan and zoom (stop drawing)", "Slide regions"),
    Shortcut("regions_select", "Alt+S", "Regions: select and move", "Slide regions"),
    Shortcut("regions_vertices", "Alt+E", "Regions: edit corners", "Slide regions"),
    Shortcut("regions_polygon", "Alt+G", "Regions: draw a polygon", "Slide regions"),
    Shortcut("regions_rectangle", "Alt+R", "Regions: draw a rectangle", "Slide regions"),
    Shortcut("regions_freehand", "Alt+D", "Regions: draw freehand", "Slide regions"),
    Shortcut("regions_brush", "Alt+B", "Regions: paint with the brush", "Slide regions"),
    Shortcut("regions_next_class", "Alt+K", "Regions: next class", "Slide regions"),
    Shortcut("regions_delete", "Alt+X", "Regions: delete the selected", "Slide regions"),
    Shortcut("regions_undo", "Alt+Z", "Regions: undo", "Slide regions"),
    Shortcut("regions_redo", "Alt+Shift+Z", "Regions: redo", "Slide regions"),
    Shortcut("regions_save", "Ctrl+Alt+S", "Regions: save a new version", "Slide regions"),
    Shortcut("regions_import", "Alt+I", "Regions: import a QuPath GeoJSON", "Slide regions"),
    Shortcut("slide_ruler", "Alt+U", "Ruler in µm on the slide", "Slide regions"),
    Shortcut("minimap", "Alt+O", "Slide overview (minimap): show / hide", "Slide regions"),
)

SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("next_case", "Ctrl+Shift+Down", "Next case", "Cases"),
    Shortcut("previous_case", "Ctrl+Shift+Up", "Previous case", "Cases"),
    Shortcut("find_case", "Ctrl+K", "Search the case list", "Cases"),
    Shortcut("open_cohort", "Ctrl+O", "Open a cohort folder or manifest", "Cases"),
    Shortcut("sequence_t1", "Alt+1", "Show T1", "MRI"),
    Shortcut("sequence_t1c", "Alt+2", "Show T1c", "MRI"),
    Shortcut("sequence_t2", "Alt+3", "Show T2", "MRI"),
    Shortcut("sequence_flair", "Alt+4", "Show FLAIR", "MRI"),
    Shortcut("mosaic", "Alt+0", "2x2 mosaic of the sequences", "MRI"),
    Shortcut("view_axial", "F2", "Axial plane", "MRI"),
    Shortcut("view_coronal", "F3", "Coronal plane", "MRI"),
    Shortcut("view_sagittal", "F4", "Sagittal plane", "MRI"),
    Shortcut("view_3d", "F5", "3D view", "MRI"),
    Shortcut("toggle_mask", "Shift+M", "Show / hide the tumour mask", "MRI"),
    Shortcut("outline", "Shift+O", "Mask as outline / filled", "MRI"),
    Shortcut("three_plane", "Q", "Three planes with a linked crosshair / single view", "MRI"),
    Shortcut("window_preset", "W", "Next window/level preset of the sequence", "MRI"),
    Shortcut("window_reset", "Shift+W", "Default window/level of the sequence", "MRI"),
    Shortcut("ruler", "U", "Ruler in mm: draw lines on the plane (U again to stop)", "MRI"),
    Shortcut("clear_rulers", "Shift+U", "Remove the rulers and RANO lines", "MRI"),
    Shortcut("rano", "Shift+R", "RANO diameters and region volumes from the mask", "MRI"),
    Shortcut("next_slide", "PgDown", "Next slide of the case", "Pathology"),
    Shortcut("previous_slide", "PgUp", "Previous slide of the case", "Pathology"),
    Shortcut("heatmap", "H", "Tile contribution heat map", "Pathology"),
    Shortcut("tile_grid", "G", "Tissue tile outlines", "Pathology"),
    Shortcut("stain", "Alt+T", "Tissue tiles stain-normalised (Macenko), as encoded", "Pathology"),
    # slide tools: Alt+letter, free in napari's keymap and in the menus' mnemonics
    *REGION_SHORTCUTS,
    Shortcut("toggle_mri", "Ctrl+1", "Use / ignore MRI in the prediction", "Prediction"),
    Shortcut("toggle_wsi", "Ctrl+2", "Use / ignore pathology in the prediction", "Prediction"),
    Shortcut("toggle_report", "Ctrl+3", "Use / ignore the report in the prediction", "Prediction"),
    Shortcut("save_mask", "Ctrl+S", "Save the mask as a new version", "Mask"),
    Shortcut("next_to_review", "Ctrl+Shift+N", "Next case to review", "Mask"),
    Shortcut("surfaces", "Ctrl+Shift+D", "3D surfaces of the tumour regions", "Mask"),
    Shortcut("export_meshes", "Ctrl+Shift+X", "Export the region meshes (STL/VTP/OBJ)", "Mask"),
    Shortcut("export_summary", "Ctrl+Shift+P", "Export the case summary (PDF + PNG)", "Mask"),
    Shortcut("find_report", "Ctrl+F", "Find in the report", "Report"),
    Shortcut("reset_views", "Ctrl+Shift+R", "Reset both views", "View"),
    Shortcut("screenshot", "Ctrl+Shift+S", "Save a screenshot of the window", "View"),
    Shortcut("cancel", "Shift+Esc", "Cancel the running computation", "App"),
    Shortcut("shortcuts", "F1", "This list", "Help"),
    Shortcut("quit", "Ctrl+Q", "Quit", "App"),
)


# mouse gestures of the MRI canvases (listed in Help; not key sequences)
MOUSE: tuple[tuple[str, str], ...] = (
    ("Click", "Move the crosshair: the other planes and the mosaic follow"),
    ("Ctrl+Right-drag", "Window (left-right) and level (up-down)"),
    ("Drag / Right-drag / Wheel", "Pan / zoom / zoom (napari)"),
)


def shortcuts_html() -> str:
    """The shortcut table as HTML, grouped."""
    parts = ["<table cellspacing='4'>"]
    group = None
    for s in SHORTCUTS:
        if s.group != group:
            group = s.group
            parts.append(f"<tr><td colspan='2'><br><b>{group}</b></td></tr>")
        parts.append(f"<tr><td><code>{s.keys}</code></td><td>{s.text}</td></tr>")
    parts.append("<tr><td colspan='2'><br><b>Mouse (MRI)</b></td></tr>")
    parts += [f"<tr><td><code>{g}</code></td><td>{t}</td></tr>" for g, t in MOUSE]
    parts.append("</table>")
    return "".join(parts)


def by_action() -> dict[str, Shortcut]:
    return {s.action: s for s in SHORTCUTS}
