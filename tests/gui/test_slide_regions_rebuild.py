"""A large rebuild of the regions layer: a chunk of shapes per event-loop turn, no edits
taken meanwhile, started again when the regions change under it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import wait_until

pytestmark = pytest.mark.gui


@pytest.fixture
def bound(qapp):
    """(layer, session, sync, notes): a Shapes layer bound to a session, with a runner."""
    from napari.components import ViewerModel

    from corebt_viewer.gui.scheduler import StepRunner
    from corebt_viewer.gui.slide_regions_layer import RegionsLayerSync
    from corebt_viewer.services.slide_regions_session import SlideRegionsSession

    viewer = ViewerModel()
    layer = viewer.add_shapes(ndim=2)
    session = SlideRegionsSession()
    notes: list[str] = []
    sync = RegionsLayerSync(layer, session, notify=notes.append, runner=StepRunner())
    yield layer, session, sync, notes
    sync.runner.cancel()


def _load(session, n: int) -> None:
    from corebt_viewer.core.annotations import Region, SlideAnnotations

    regions = tuple(Region.rectangle(i * 100, 0, 50, 50, class_name="tumour") for i in range(n))
    session.set_slide(
        cohort_root=None, case_id="", slide=None, mpp=0.5, annotations=SlideAnnotations(regions)
    )


def _shown(layer, session, sync) -> bool:
    ids = [r.id for r in session.regions]
    return layer.nshapes == len(ids) and [owner[0] for owner in sync.owners] == ids


def test_a_large_rebuild_adds_a_chunk_per_turn_and_takes_no_edit_meanwhile(bound):
    from corebt_viewer.gui.slide_regions_layer import REBUILD_CHUNK

    layer, session, sync, _notes = bound
    layer.mode = "add_rectangle"
    _load(session, 3 * REBUILD_CHUNK + 10)
    # nothing drawn in the turn that loaded: the window stays free
    assert sync.busy and layer.nshapes == 0
    assert not layer.editable and layer.mode == "pan_zoom"  # no drawing until done
    wait_until(lambda: layer.nshapes > 0)
    assert layer.nshapes % REBUILD_CHUNK == 0 and layer.nshapes < len(session.regions)
    wait_until(lambda: not sync.busy)
    assert _shown(layer, session, sync)
    assert layer.editable and layer.mode == "add_rectangle"  # as it was
    # a tool chosen during a rebuild is the layer's mode once it is done
    _load(session, 3 * REBUILD_CHUNK)
    sync.set_mode("add_polygon")
    assert layer.mode == "pan_zoom"
    wait_until(lambda: not sync.busy)
    assert layer.mode == "add_polygon"
    # a small one is done at once
    _load(session, 5)
    assert not sync.busy and _shown(layer, session, sync)


def test_a_change_during_a_rebuild_starts_it_again_from_the_regions(bound):
    from corebt_viewer.gui.slide_regions_layer import REBUILD_CHUNK

    layer, session, sync, notes = bound
    _load(session, 3 * REBUILD_CHUNK)
    wait_until(lambda: layer.nshapes >= REBUILD_CHUNK)
    assert sync.busy
    session.editor.delete([r.id for r in session.regions[:10]])  # an undo, an import...
    wait_until(lambda: not sync.busy)
    assert _shown(layer, session, sync) and len(session.regions) == 3 * REBUILD_CHUNK - 10

    # a shape that reaches the layer during a rebuild is not kept, and the user is told
    _load(session, 3 * REBUILD_CHUNK)
    wait_until(lambda: layer.nshapes >= REBUILD_CHUNK)
    square = np.array([[0, 0], [0, 40], [40, 40], [40, 0]], float)
    layer.add([square], shape_type="rectangle")
    assert notes and "still being drawn" in notes[-1]
    wait_until(lambda: not sync.busy)
    assert _shown(layer, session, sync) and len(session.regions) == 3 * REBUILD_CHUNK


def test_chunks_grow_with_the_shapes_already_added():
    """napari's every add costs in proportion to the layer's shapes: 10,000 regions in
    chunks of 64 took 15 s of adds (one add: 2.5 s); growing chunks keep it near one add."""
    from corebt_viewer.gui.slide_regions_layer import REBUILD_CHUNK, rebuild_chunks

    for n in (1, 150, 500, 10_000):
        bounds = rebuild_chunks(n)
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
    assert all(b - a <= REBUILD_CHUNK + 11 for a, b in rebuild_chunks(500))  # 500: ~64 each
    assert len(rebuild_chunks(10_000)) < 30
