import json

import numpy as np
import pytest

from corebt_viewer.embed.stain import MACENKO_REFERENCE, MacenkoNormalizer


@pytest.fixture(scope="module")
def tiles(svs_path):
    """Two 256-px tissue tiles of the real slide, and one of glass."""
    from corebt_viewer.io.slides import open_slide

    with open_slide(svs_path) as slide:
        a = slide.read_region((900, 1200), 0, (256, 256))
        b = slide.read_region((1100, 2000), 0, (256, 256))
        glass = slide.read_region((50, 50), 0, (256, 256))
    return a, b, glass


def restain(tile: np.ndarray, scale=(1.35, 0.7, 1.1)) -> np.ndarray:
    """The same tissue seen through a different stain: optical density scaled per channel."""
    od = -np.log((tile.astype(np.float64) + 1) / 256)
    return np.clip(256 * np.exp(-od * np.asarray(scale)) - 1, 0, 255).astype(np.uint8)


def test_normalisation_brings_a_restained_tile_back_towards_the_original(tiles):
    a, _, _ = tiles
    shifted = restain(a)
    normalise = MacenkoNormalizer()
    before = np.abs(a.astype(int) - shifted).mean()
    after = np.abs(normalise(a).astype(int) - normalise(shifted)).mean()
    assert after < 0.5 * before
    assert normalise.normalised == 2 and normalise.skipped == 0


def test_batches_glass_and_the_profile_record(tiles):
    a, b, glass = tiles
    normalise = MacenkoNormalizer()
    out = normalise(np.stack([a, b, glass]))
    assert out.shape == (3, 256, 256, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[2], glass)  # nothing to estimate on glass: as it was
    assert not np.array_equal(out[0], a)
    assert (normalise.normalised, normalise.skipped) == (2, 1)
    record = normalise.record()
    json.dumps(record)
    assert record["method"] == "macenko" and record["reference"] == MACENKO_REFERENCE
    assert record["stain_matrix"][0] == [0.5626, 0.2159]
    assert record["implementation"].startswith("corebt_viewer.embed.stain")


def test_reference_fitted_on_a_chosen_tile(tiles):
    a, b, _ = tiles
    fitted = MacenkoNormalizer.fitted(a, name="CMU-1 (900, 1200)")
    record = fitted.record()
    assert record["reference"] == "CMU-1 (900, 1200)"
    assert record["stain_matrix"] != MacenkoNormalizer().record()["stain_matrix"]
    # a tile normalised to its own stain changes less than one normalised to another
    # (the two-stain model still drops what neither stain explains)
    own = np.abs(fitted(a).astype(int) - a).mean()
    other = np.abs(MacenkoNormalizer.fitted(b, name="b")(a).astype(int) - a).mean()
    assert own < other and own < 12
