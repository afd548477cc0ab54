"""The main window's small dialogs: the model card, the keyboard shortcuts, about."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QMessageBox

from corebt_viewer.gui.shortcuts import shortcuts_html


def model_card(parent, card, no_model: str = "") -> QMessageBox:
    """Show a :class:`~corebt_viewer.services.model_card.ModelCard` (None: why not)."""
    box = QMessageBox(parent)
    box.setWindowTitle("Model card")
    if card is None:
        box.setText(no_model or "No model is loaded.")
    else:
        box.setText("\n".join(card.lines()))
        if card.evaluation:
            box.setDetailedText(card.evaluation)
    box.setModal(False)
    box.show()
    return box


def shortcuts(parent) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("Keyboard shortcuts")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(shortcuts_html())
    box.setModal(False)
    box.show()
    return box


def about(parent) -> None:
    QMessageBox.about(
        parent,
        "About CoRe-BT Viewer",
        "<b>CoRe-BT Viewer</b><br>Brain-tumour typing from MRI, whole-slide pathology "
        "and the pathology report, after the CoRe-BT paper.<br>Research use only: "
        "not a medical device.",
    )
