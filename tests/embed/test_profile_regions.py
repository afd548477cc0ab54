"""Profiles that steer the tiles: annotated regions, artefacts, stain normalisation."""

import numpy as np
import pytest

from corebt_viewer.core.annotations import Region, SlideAnnotations
from corebt_viewer.core.modalities import Modality
from corebt_viewer.embed.profile import make_profile
from corebt_viewer.io.annotations import save_annotation_version
from corebt_viewer.services.embedding import embed_cohort, load_cohort_embeddings

RUN = {"device": "cpu", "batch_size": 16, "workers": 1}


@pytest.fixture
def cohort(tmp_path):
    from tests.embed.embed_data import make_cohort

    return make_cohort(tmp_path / "cohort", n_cases=2, slide_shape=(1024, 1280))


def _tiles(cohort, profile, pid="P001"):
    found = load_cohort_embeddings(cohort=cohort, profile=profile, modalities="wsi")
    return found[pid].parts[Modality.WSI], found[pid]


def test_a_region_profile_embeds_only_the_tumour_tiles_minus_artefacts(cohort):
    root = cohort.parent
    whole = make_profile(report="hashing-tfidf")
    assert embed_cohort(cohort=cohort, profile=whole, modalities="wsi", **RUN).ok
    all_tiles, _ = _tiles(cohort, whole)
    coords, size = all_tiles.coords, 256  # 0.5 um/px slides: 256 level-0 px a tile

    slide = root / "P001" / "P001_s0.svs"
    tumour = Region.rectangle(0, 0, 700, 1024, class_name="tumour")
    artefact = Region.rectangle(0, 0, 300, 300, class_name="artefact")
    save_annotation_version(
        SlideAnnotations((tumour, artefact)), cohort_root=root, case_id="P001", slide=slide
    )
    regions = make_profile(report="hashing-tfidf", regions=("tumour",)).renamed("tumour-only")
    summary = embed_cohort(cohort=cohort, profile=regions, modalities="wsi", **RUN)
    # P002's slide has no annotations: said, not silently embedded whole
    assert any("P002_s0.svs" in f and "no annotations" in f for f in summary.failures)
    assert any(m.startswith("P002: no Pathology") for m in summary.missing)

    kept, embedding = _tiles(cohort, regions)
    centre = coords + size / 2
    inside = (centre[:, 0] < 700) & (centre[:, 1] < 1024)
    clear = (coords[:, 0] >= 300) | (coords[:, 1] >= 300)  # no overlap with the artefact
    assert 0 < len(kept.coords) == int((inside & clear).sum()) < len(coords)
    assert {tuple(c) for c in kept.coords} == {tuple(c) for c in coords[inside & clear]}
    assert "tumour" in embedding.flags["regions"]
    # the whole-slide profile's features are still there, untouched
    assert len(_tiles(cohort, whole)[0].coords) == len(coords)


def test_stain_normalisation_is_part_of_the_profile(cohort):
    plain = make_profile(report="hashing-tfidf")
    stained = make_profile(report="hashing-tfidf", stain_normalisation="macenko").renamed("macenko")
    assert plain.fingerprint() != stained.fingerprint()
    assert "stain normalised" in "\n".join(stained.describe())
    embed_cohort(cohort=cohort, profile=plain, modalities="wsi", **RUN)
    embed_cohort(cohort=cohort, profile=stained, modalities="wsi", **RUN)
    a, b = _tiles(cohort, plain)[0], _tiles(cohort, stained)[0]
    assert a.features.shape == b.features.shape
    assert not np.allclose(a.features, b.features)
