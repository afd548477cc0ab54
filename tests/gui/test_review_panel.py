"""The review panel writes each field over what it read, and shows another's edit."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_a_concurrent_edit_is_shown_never_overwritten(qtbot, tmp_path):
    from corebt_viewer.gui.review_panel import ReviewPanel
    from corebt_viewer.io.review_db import ReviewDB

    mine, theirs = ReviewDB.for_cohort(tmp_path), ReviewDB.for_cohort(tmp_path)
    mine.update("P1", notes="draft")
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.set_database(mine, ["P1"])
    panel.show_case("P1")
    theirs.update("P1", notes="bo: necrosis at the margin")  # another annotator, meanwhile
    panel.notes_edit.setPlainText("ana: looks fine")
    panel.commit()
    assert mine.get("P1").notes == "bo: necrosis at the margin"  # theirs kept
    assert not panel.conflict.isHidden()
    assert "bo: necrosis at the margin" in panel.conflict.text()
    assert panel.notes_edit.toPlainText() == "ana: looks fine"  # mine kept in the panel
    panel.set_status("done")  # another field: written, no conflict
    assert mine.get("P1").status.value == "done"
    panel.notes_edit.setPlainText("ana: looks fine (after reading bo)")
    panel.commit()  # saved again, now over what was shown
    assert mine.get("P1").notes == "ana: looks fine (after reading bo)"
    assert panel.conflict.isHidden()
    mine.close()
    theirs.close()
