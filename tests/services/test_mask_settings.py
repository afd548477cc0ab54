"""EditSettings refuses foreign labels; EditHistory says "unsaved" without comparing volumes."""

from __future__ import annotations

import pytest

from corebt_viewer.core.segmentation import LabelConvention
from corebt_viewer.services.mask_settings import EditHistory, EditSettings, canonical_labels


@pytest.mark.parametrize("convention", list(LabelConvention))
def test_only_the_masks_labels_can_be_selected(convention):
    settings = EditSettings(canonical_labels(convention))
    seen = []
    settings.changed.connect(lambda name, value: seen.append((name, value)))
    assert settings.set("label", 3) and seen == [("label", 3)]
    for foreign in (4, 5, 255):  # 4 is BraTS 2021's file value: the editor is canonical
        with pytest.raises(ValueError, match="not one of this mask's labels"):
            settings.set("label", foreign)
    assert settings.label == 3
    assert not settings.set("label", 3)  # no change, nobody told
    settings.set("brush_size", 500)
    assert settings.brush_size == 40
    settings.set("edit_3d", True)
    assert settings.n_edit_dimensions == 3


def test_history_clean_position():
    history = EditHistory()
    assert not history.dirty
    history.edited()
    history.edited()
    assert history.dirty and history.edits == 2
    history.undone()
    history.undone()
    assert not history.dirty  # undone back to the opened labels
    history.redone()
    history.mark_clean()  # saved here
    assert not history.dirty
    history.undone()
    assert history.dirty
    history.edited()  # a new branch: the saved labels can no longer be reached by redo
    history.undone()
    assert history.dirty and history.edits == -1
    revision = history.revision
    history.reset(clean=True)
    assert not history.dirty and history.revision == revision + 1
