"""The mask editor's saving and versions: Ctrl+S, a new mask, open a version, make it current.

A mixin of :class:`~corebt_viewer.gui.mask_editor.MaskEditor` (it uses the editor's
session, guard, review, versions tab and state line); the original is never written.
"""

from __future__ import annotations

import logging

from corebt_viewer.gui.mask_guard import Answer

log = logging.getLogger("corebt_viewer.gui")
ERROR = "color: #ff6b6b;"


class SavingAndVersions:
    """Ctrl+S and the Versions tab's actions, for the mask editor."""

    def save(self):
        """Ctrl+S: write the working labels as a new version; returns the SavedMask."""
        if self.session is None or not self.save_button.isEnabled():
            return None
        if self.review.reviewer:
            self.session.author = self.review.reviewer
        try:
            saved = self.session.save()
        except Exception as exc:  # noqa: BLE001 - the user sees why, edits stay
            self._say(f"Save failed: {exc}", ERROR)
            log.warning("saving the mask of %s: %s", self.session.case_id, exc)
            return None
        self._on_saved(saved)
        return saved

    def _on_saved(self, saved) -> None:
        self.refresh_versions()
        self._update_state()
        if self.session is not None:
            self.review.show_case(self.session.case_id)
            self.review.review_changed.emit(self.session.case_id, self.review.status().title)
            self._say(f"Saved {saved.version.label} · {saved.version.path.name}")
        self.saved.emit(saved)

    def new_mask(self) -> None:
        """Start an empty mask for a case that has none."""
        if self.session is None:
            return
        self.new_button.hide()
        self._set_enabled(True)
        if self.layer is not None:
            self.layer.visible = True
        self.set_mode("paint")
        self._say("New mask · unsaved")
        self.mask_created.emit()

    def refresh_versions(self) -> None:
        self.versions_tab.refresh(self.session)

    def open_version(self, version) -> bool:
        """Load `version` into the working labels (asks about unsaved edits first)."""
        if self.session is None:
            return False
        if self.session.has_unsaved_edits:
            answer = Answer(self.guard.prompts.unsaved_edits(self, self.session.case_id))
            if answer is Answer.CANCEL:
                return False
            if answer is Answer.SAVE:
                self.save()
        self.session.open_version(version)
        self._labels_replaced()
        self.refresh_versions()
        self._set_enabled(True)
        self.new_button.hide()
        self.version_opened.emit(getattr(version, "label", str(version)))
        return True

    def open_selected_version(self) -> None:
        version = self.versions_tab.selected()
        if version is not None:
            self.open_version(version)

    def make_current(self, version) -> None:
        if self.session is None:
            return
        chosen = self.session.make_current(version)
        self.versions_tab.note.setText(f"{chosen.label} is now the case's mask.")
        self.refresh_versions()

    def make_selected_current(self) -> None:
        version = self.versions_tab.selected()
        if version is not None:
            self.make_current(version)
