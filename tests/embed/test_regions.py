import json

import numpy as np
import pytest
import shapely

from corebt_viewer.core.annotations import Region, SlideAnnotations
from corebt_viewer.core.errors import InputError
from corebt_viewer.embed.regions import (
    annotation_source,
    apply_region_selection,
    select_tiles_by_regions,
)
from corebt_viewer.embed.tiling import TileGrid, make_tile_grid
from corebt_viewer.io.annotations import save_annotation_version
from corebt_viewer.io.annotations.geometry import to_shapely


def grid_of(n_x: int, n_y: int, side: int = 100) -> TileGrid:
    ys, xs = np.mgrid[0:n_y, 0:n_x]
    coords = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.int64) * side
    return TileGrid(
        coords=coords,
        tissue=np.ones(len(coords), np.float32),
        tile_size=256,
        tile_size_level0=side,
        read_level=0,
        read_size=side,
        target_mpp=0.5,
        mpp=0.5,
    )


def test_tumour_keeps_centres_inside_holes_excluded_and_artefacts_always_remove():
    grid = grid_of(10, 10)
    tumour = Region.polygon(
        [
            [(200, 200), (600, 200), (600, 600), (200, 600)],  # tiles 2..5 x 2..5: 16
            [(300, 300), (400, 300), (400, 400), (300, 400)],  # hole: the centre of tile (3, 3)
        ],
        class_name="Tumor",  # QuPath's spelling
    )
    artefact = Region.rectangle(550, 550, 100, 100, class_name="artefact")  # touches 4 tiles
    normal = Region.rectangle(0, 0, 1000, 100, class_name="normal")
    regions = SlideAnnotations((tumour, artefact, normal))
    selection = select_tiles_by_regions(grid, regions, keep_classes=("tumour",))
    kept = {tuple(c // 100) for c in grid.coords[selection.keep]}
    expected = {(x, y) for x in range(2, 6) for y in range(2, 6)} - {(3, 3), (5, 5)}
    assert kept == expected
    record = selection.record
    assert record["tiles_before"] == 100 and record["tiles_after"] == 14
    assert record["tiles_removed_by_artefact"] == 1 and selection.restricted
    json.dumps(record)  # JSON-able for the profile

    everything = select_tiles_by_regions(grid, regions, keep_classes=None)
    assert everything.keep.sum() == 96  # only the artefact's four tiles go
    both = select_tiles_by_regions(grid, regions, keep_classes=("tumour", "normal"))
    assert both.keep.sum() == 14 + 10

    smaller = apply_region_selection(grid, selection)
    assert len(smaller) == 14 and "14 of 100 tiles" in smaller.notes[-1]


def test_unknown_class_stops_with_the_classes_present():
    grid = grid_of(4, 4)
    regions = SlideAnnotations((Region.rectangle(0, 0, 50, 50, class_name="normal"),))
    with pytest.raises(InputError, match="no region of class tumour.*classes there: normal"):
        select_tiles_by_regions(grid, regions, source={"file": "s.v001.geojson"})


def test_real_slide_grid_matches_a_brute_force_count(svs_path, tmp_path):
    from corebt_viewer.io.slides import open_slide

    with open_slide(svs_path) as slide:
        grid, _ = make_tile_grid(slide, target_mpp=1.0, tile_size=64)
    tumour = Region.polygon(
        [[(900, 500), (1800, 700), (1700, 2400), (1000, 2200)]], class_name="tumour"
    )
    artefact = Region.rectangle(1200, 1200, 150, 150, class_name="artefact")
    regions = SlideAnnotations((tumour, artefact))
    version = save_annotation_version(regions, cohort_root=tmp_path, case_id="P1", slide=svs_path)
    selection = select_tiles_by_regions(grid, regions, source=annotation_source(version))
    side = grid.tile_size_level0
    shape_t, shape_a = to_shapely(tumour), to_shapely(artefact)
    expected = [
        shape_t.contains(shapely.Point(x + side / 2, y + side / 2))
        and not shape_a.intersection(shapely.box(x, y, x + side, y + side)).area > 0
        for x, y in grid.coords
    ]
    assert selection.keep.tolist() == expected
    assert 0 < selection.record["tiles_after"] < len(grid)
    assert selection.record["annotations"]["file"] == "CMU-1-Small-Region.v001.geojson"
    assert selection.record["annotations"]["sha256"] == version.sha256()
