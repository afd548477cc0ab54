"""The main window's keyboard actions and menus: one table from action to handler."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtGui import QAction, QKeySequence

from corebt_viewer.core.modalities import MRI_SEQUENCES, Modality
from corebt_viewer.gui.mri_canvas import VIEWS
from corebt_viewer.gui.native_space_actions import add_native_space_actions
from corebt_viewer.gui.shortcuts import REGION_SHORTCUTS, SHORTCUTS

MENUS = {
    "&File": ["open_cohort", "save_mask", "export_summary", "screenshot", None, "quit"],
    "&Case": ["next_case", "previous_case", "find_case", None, "next_to_review"],
    "&MRI": [
        *(f"sequence_{s.value}" for s in MRI_SEQUENCES),
        "mosaic",
        None,
        *(f"view_{v}" for v in VIEWS),
        None,
        "toggle_mask",
        "outline",
        None,
        "three_plane",
        "window_preset",
        "window_reset",
        "ruler",
        "clear_rulers",
        "rano",
        None,
        "surfaces",
        "export_meshes",
    ],
    "&Pathology": [
        "next_slide",
        "previous_slide",
        "heatmap",
        "tile_grid",
        "stain",
        None,
        *(s.action for s in REGION_SHORTCUTS),
    ],
    "&Prediction": [
        "toggle_mri",
        "toggle_wsi",
        "toggle_report",
        None,
        "report_model",
        "model_card",
        None,
        "cancel",
    ],
    "&View": ["reset_views", "find_report"],
}


def handlers(window) -> dict:
    """Action name -> what it does in `window` (a MainWindow)."""
    mri, slides, cases, review = window.mri, window.slides, window.case_list, window.mask_review
    table = {
        "next_case": lambda: cases.step(+1),
        "previous_case": lambda: cases.step(-1),
        "find_case": lambda: (cases.search.setFocus(), cases.search.selectAll()),
        "open_cohort": window.choose_cohort,
        "mosaic": lambda: mri.set_mosaic(not mri.mosaic),
        "toggle_mask": lambda: mri.set_mask_visible(not mri.mask_check.isChecked()),
        "outline": lambda: mri.outline_check.toggle(),
        "next_slide": lambda: slides.open_slide(slides.chooser.currentIndex() + 1),
        "previous_slide": lambda: slides.open_slide(slides.chooser.currentIndex() - 1),
        "heatmap": lambda: slides.heat_check.toggle(),
        "tile_grid": lambda: slides.grid_check.toggle(),
        "stain": slides.stain.toggle,
        "toggle_mri": lambda: window.toggle_modality(Modality.MRI),
        "toggle_wsi": lambda: window.toggle_modality(Modality.WSI),
        "toggle_report": lambda: window.toggle_modality(Modality.REPORT),
        "find_report": window.report.focus_find,
        "reset_views": window.reset_views,
        "screenshot": window.choose_screenshot,
        "cancel": window.cancel_work,
        "shortcuts": window.show_shortcuts,
        "model_card": window.show_model_card,
        "save_mask": review.save,
        "next_to_review": review.next_case_to_review,
        "surfaces": review.show_surfaces,
        "export_meshes": review.export_meshes,
        "export_summary": review.export_summary,
        "quit": window.close,
    }
    table.update(window.slide_tools.handlers())
    for seq in MRI_SEQUENCES:
        table[f"sequence_{seq.value}"] = lambda s=seq: (
            mri.set_sequence(s),
            review.sequence_changed(),  # intensity-limited paint follows the view
        )
    for view in VIEWS:
        table[f"view_{view}"] = lambda v=view: mri.set_view(v)
    table.update(window.mri_tools.handlers())
    return table


def build_actions(window) -> dict[str, QAction]:
    """Every shortcut as a window action, and the menus; returns name -> action."""
    table = handlers(window)
    actions: dict[str, QAction] = {}
    for shortcut in SHORTCUTS:
        action = QAction(shortcut.text, window)
        action.setShortcut(QKeySequence(shortcut.keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _=False, f=table[shortcut.action]: f())
        window.addAction(action)
        actions[shortcut.action] = action
    card = QAction("Model card…", window)  # no key of its own
    card.triggered.connect(table["model_card"])
    actions["model_card"] = card
    report = QAction("Use the model that also reads the report", window)
    report.setCheckable(True)
    report.setEnabled(False)  # until a cohort with both model folders is open
    report.setToolTip(
        "Eq. 2 (MRI + pathology) is the paper's model; the report extension "
        "also reads the pathology report, which usually states the diagnosis"
    )
    report.triggered.connect(window.use_report_model)
    actions["report_model"] = report
    for title, names in MENUS.items():
        menu = window.menuBar().addMenu(title)
        if title == "&View":  # native-space QC and DICOM series (gui.native_space_actions)
            view_menu = menu
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(actions[name])
    actions.update(add_native_space_actions(window, view_menu))
    help_menu = window.menuBar().addMenu("&Help")
    help_menu.addAction(actions["shortcuts"])
    about = QAction("About CoRe-BT Viewer", window)
    about.triggered.connect(window.show_about)
    help_menu.addAction(about)
    return actions
