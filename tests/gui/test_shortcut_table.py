"""Every key is bound once, none is one of napari's own, and Help lists them all."""

from __future__ import annotations

from corebt_viewer.gui.shortcuts import MOUSE, SHORTCUTS, shortcuts_html


def napari_keys() -> set[str]:
    """napari's default key bindings (viewer and layers), as Qt-style strings."""
    from napari.utils.key_bindings import coerce_keybinding
    from napari.utils.shortcuts import default_shortcuts

    keys = set()
    for bindings in default_shortcuts.values():
        for binding in bindings:
            keys.add(str(coerce_keybinding(binding)).replace("Ctrl", "Ctrl"))
    return keys


def test_no_action_is_named_twice():
    actions = [s.action for s in SHORTCUTS]
    assert len(actions) == len(set(actions)), sorted(a for a in actions if actions.count(a) > 1)


def test_no_key_is_bound_twice():
    keys = [s.keys.lower() for s in SHORTCUTS]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def _napari_form(keys: str) -> str:
    from napari.utils.key_bindings import coerce_keybinding

    return str(coerce_keybinding(keys.replace("Esc", "Escape")))


def test_no_key_is_one_of_napari_keys():
    taken = napari_keys()
    clashes = {s.keys: s.action for s in SHORTCUTS if _napari_form(s.keys) in taken}
    assert not clashes, f"napari's own keys: {clashes}"


def test_the_comparison_sees_a_clash():
    taken = napari_keys()
    for napari_key in ("1", "M", "Esc", "Ctrl+Down", "Shift+A"):
        assert _napari_form(napari_key) in taken


def test_no_key_is_a_menu_mnemonic():
    from corebt_viewer.gui.window_actions import MENUS

    mnemonics = {"Alt+" + t[t.index("&") + 1].upper() for t in [*MENUS, "&Help"] if "&" in t}
    assert mnemonics and not mnemonics & {s.keys for s in SHORTCUTS}


def test_help_lists_every_tool():
    html = shortcuts_html()
    for shortcut in SHORTCUTS:
        assert shortcut.text.replace("&", "&amp;") in html or shortcut.text in html
    for gesture, text in MOUSE:
        assert gesture in html and text in html
