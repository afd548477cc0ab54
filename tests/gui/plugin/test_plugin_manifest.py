"""The npe2 manifest: valid, installed through the entry point, every contribution there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_npe2_validate_passes():
    npe2 = Path(sys.executable).with_name("npe2")
    result = subprocess.run(
        [str(npe2), "validate", "corebt-viewer"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_manifest_is_found_through_the_entry_point():
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("corebt-viewer")
    contributions = manifest.contributions
    assert {r.command for r in contributions.readers} == {
        "corebt-viewer.get_case_reader",
        "corebt-viewer.get_slide_reader",
    }
    assert [w.layer_types for w in contributions.writers] == [["labels"]]
    assert {w.display_name for w in contributions.widgets} == {"Case list", "Prediction panel"}
    assert [s.key for s in contributions.sample_data] == ["demo_case"]
    # every command resolves to an importable callable
    for command in contributions.commands:
        assert callable(pm.commands.get(command.id)), command.id
