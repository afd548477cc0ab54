import pytest

from corebt_viewer.core.annotation_editor import AnnotationEditor
from corebt_viewer.core.annotations import Region, RegionClass, SlideAnnotations


def test_add_move_edit_delete_with_undo_and_redo():
    editor = AnnotationEditor()
    changes = []
    editor.on_change(changes.append)
    a = editor.add(Region.rectangle(0, 0, 10, 10, class_name="tumour"))
    b = editor.add(Region.rectangle(50, 50, 10, 10, class_name="normal"))
    editor.move([a.id, b.id], 5, -5)
    assert editor.annotations.region(a.id).bounds == (5.0, -5.0, 15.0, 5.0)
    editor.edit(b.id, class_name="artefact", name="pen mark")
    editor.delete([a.id])
    assert [r.id for r in editor.regions] == [b.id] and editor.dirty
    assert editor.undo_label == "delete"
    for _ in range(5):
        assert editor.undo()
    assert not editor.undo() and editor.regions == ()
    assert editor.redo() and editor.redo() and editor.redo()
    assert editor.annotations.region(b.id).bounds == (55.0, 45.0, 65.0, 55.0)
    assert editor.annotations.region(b.id).class_name == "normal"
    editor.add(Region.rectangle(0, 0, 1, 1))  # a new edit drops the redo stack
    assert not editor.can_redo
    assert changes[:3] == ["add", "add", "move"] and "undo delete" in changes


def test_grouped_edits_are_one_step_and_a_failed_group_changes_nothing():
    editor = AnnotationEditor()
    regions = [Region.rectangle(i * 20, 0, 10, 10, class_name="tumour") for i in range(3)]
    with editor.group("paste"):
        for region in regions:
            editor.add(region)
    assert len(editor.regions) == 3 and editor.undo_label == "paste"
    with pytest.raises(KeyError):
        with editor.group("move two"):
            editor.move([regions[0].id], 1, 1)
            editor.move(["missing"], 1, 1)
    assert editor.regions[0].bounds == (0.0, 0.0, 10.0, 10.0)
    editor.undo()
    assert editor.regions == ()


def test_locks_classes_and_saved_state():
    start = SlideAnnotations((Region.rectangle(0, 0, 10, 10, class_name="tumour", locked=True),))
    editor = AnnotationEditor(start)
    region = editor.regions[0]
    assert not editor.dirty
    with pytest.raises(PermissionError, match="locked"):
        editor.move([region.id], 1, 0)
    with pytest.raises(ValueError, match="unknown class 'stroma'"):
        editor.edit(region.id, class_name="stroma")
    editor.set_classes([*editor.classes, RegionClass("stroma", (0, 0, 255))])
    editor.edit(region.id, class_name="stroma")
    with pytest.raises(ValueError, match="still used"):
        editor.set_classes([c for c in editor.classes if c.name != "stroma"])
    assert editor.dirty
    editor.mark_saved()
    assert not editor.dirty
    editor.undo()
    assert editor.dirty and editor.regions[0].class_name == "tumour"


def test_undo_depth_is_bounded():
    editor = AnnotationEditor(max_undo=3)
    for i in range(6):
        editor.add(Region.rectangle(i, 0, 1, 1))
    steps = 0
    while editor.undo():
        steps += 1
    assert steps == 3 and len(editor.regions) == 3
