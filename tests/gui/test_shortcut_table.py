"""Every key is bound once, none is one of napari's own, and Help lists them all."""

from __future__ import annotations

from corebt_viewer.gui.shortcuts import MOUSE, SHORTCUTS, shortcuts_html

MRI_TOOL_ACTIONS = ("three_plane", "window_preset", "window_reset", "ruler", "clear_rulers", "rano")


def napari_keys() -> set[str]:
    """napari's default key bindings (viewer and layers), as Qt-style strings."""
    from napari.utils.key_bindings import coerce_keybinding
    from napari.utils.shortcuts import default_shortcuts

    keys = set()
    for bindings in default_shortcuts.values():
        for binding in bindings:
            keys.add(str(coerce_keybinding(binding)).replace("Ctrl", "Ctrl"))
    return keys


def test_no_key_is_bound_twice():
    keys = [s.keys.lower() for s in SHORTCUTS]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_mri_tool_keys_are_not_napari_keys():
    from napari.utils.key_bindings import coerce_keybinding

    taken = napari_keys()
    by_action = {s.action: s for s in SHORTCUTS}
    for action in MRI_TOOL_ACTIONS:
        ours = str(coerce_keybinding(by_action[action].keys))
        assert ours not in taken, f"{action}: {ours} is napari's"


def test_help_lists_every_tool():
    html = shortcuts_html()
    for shortcut in SHORTCUTS:
        assert shortcut.text.replace("&", "&amp;") in html or shortcut.text in html
    for gesture, text in MOUSE:
        assert gesture in html and text in html
