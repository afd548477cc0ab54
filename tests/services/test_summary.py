"""Case summary page: real MRI, mask and slide, a prediction, missing parts."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.prediction import AblationRow, CasePrediction, TileContributions
from corebt_viewer.core.segmentation import Region
from corebt_viewer.services import summary as sm

CLASSES = ("Glioblastoma", "Astrocytoma", "Oligodendroglioma")


def _prediction(coords: np.ndarray, values: np.ndarray) -> CasePrediction:
    both = frozenset({Modality.MRI, Modality.WSI})
    return CasePrediction(
        patient_id="TCGA-DU-7294",
        task="level1",
        classes=CLASSES,
        probabilities=np.array([0.2, 0.7, 0.1]),
        predicted="Astrocytoma",
        available=both,
        used=both,
        ablation_mode="missing",
        weights={Modality.MRI: 0.35, Modality.WSI: 0.65},
        gate=0.2,
        contributions={"mri": np.zeros(3), "wsi": np.zeros(3), "residual": np.zeros(3)},
        logits=np.zeros(3),
        ablation=(
            AblationRow(frozenset({Modality.MRI}), np.array([0.5, 0.4, 0.1]), "Glioblastoma"),
            AblationRow(frozenset({Modality.WSI}), np.array([0.1, 0.8, 0.1]), "Astrocytoma"),
            AblationRow(both, np.array([0.2, 0.7, 0.1]), "Astrocytoma"),
        ),
        tile_contributions=(TileContributions("CMU-1-Small-Region.svs", 0, coords, values),),
    )


def _has_colour(png: np.ndarray, rgb, tol=0.12) -> int:
    return int((np.abs(png[..., :3] - np.asarray(rgb)) < tol).all(axis=-1).sum())


def test_tile_heatmap_places_tiles():
    heat = sm.tile_heatmap(
        coords=np.array([[0, 0], [512, 256]]),
        values=np.array([1.0, -2.0]),
        tile_size=256,
        slide_dimensions=(1024, 512),
        thumbnail_shape=(64, 128),
    )
    assert heat.shape == (64, 128)
    assert np.all(heat[:32, :32] == 1.0) and np.all(heat[32:, 64:96] == -2.0)
    assert np.isnan(heat[40, 10]) and np.isnan(heat[0, 100])


def test_key_slice_has_most_tumour():
    mask = np.zeros((10, 10, 20), np.uint8)
    mask[2:5, 2:5, 7] = 1
    mask[2:8, 2:8, 13] = 2
    assert sm.key_slice(mask) == 13
    assert sm.key_slice(None, shape=(10, 10, 20)) == 10


def test_full_summary_from_real_files(real_mri_dir, svs_path, tmp_path):
    from corebt_viewer.io.mask_versions import read_mask
    from corebt_viewer.io.nifti import load_volume
    from corebt_viewer.io.slides import open_slide

    t1c = load_volume(real_mri_dir / "TCGA-DU-7294_t1c_bet.nii.gz")
    seg = read_mask(real_mri_dir / "TCGA-DU-7294_seg_fusion_mav.nii.gz")
    with open_slide(svs_path) as slide:
        thumb = slide.thumbnail(max_size=256)
        dims = slide.dimensions
    xs, ys = np.meshgrid(np.arange(0, dims[0] - 256, 256), np.arange(0, dims[1] - 256, 256))
    coords = np.stack([xs.ravel(), ys.ravel()], axis=1)
    values = np.linspace(-1, 1, len(coords))
    prediction = _prediction(coords, values)

    paths = sm.render_case_summary(
        case_id="TCGA-DU-7294",
        out=tmp_path / "summary" / "TCGA-DU-7294.pdf",
        mri=t1c.data,
        mask=seg.labels,
        voxel_size=t1c.voxel_size,
        sequence_name="T1c",
        slide_thumbnails=[thumb],
        slide_names=["CMU-1-Small-Region.svs"],
        slide_dimensions=[dims],
        tile_size=256,
        prediction=prediction,
        volumes=seg.volumes_ml(),
        review="in_progress",
        notes="oedema corrected",
        dpi=80,
    )
    pdf, png = paths
    assert [p.name for p in paths] == ["TCGA-DU-7294.pdf", "TCGA-DU-7294.png"]
    data = pdf.read_bytes()
    assert (
        data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") == 1
    )
    image = imread(png)
    assert image.shape[:2] == (int(11.69 * 80), int(8.27 * 80))  # A4 portrait
    # The mask overlay (necrosis red, oedema green) and the heat map are on the page.
    red = _has_colour(image, (0.86 * 0.45 + 0.55 * 0.3, 0.08 * 0.45, 0.08 * 0.45), tol=0.2)
    assert red > 0
    assert _has_colour(image, Region.OEDEMA.colour[:3], tol=0.35) > 0
    assert _has_colour(image, (0.23, 0.30, 0.75), tol=0.12) > 0  # coolwarm blue of negative tiles


def test_summary_with_everything_missing(tmp_path):
    paths = sm.render_case_summary(case_id="P000", out=tmp_path / "empty", dpi=50)
    assert [p.suffix for p in paths] == [".pdf", ".png"]
    image = imread(paths[1])
    assert image.shape[0] > image.shape[1]
    with pytest.raises(ValueError):
        sm.render_case_summary(case_id="P000", out=tmp_path / "x", formats=["svg"])


def test_summary_accepts_duck_typed_prediction_and_2d_slice(tmp_path):
    class Simple:
        classes = ("LGG", "HGG")
        probabilities = np.array([0.3, 0.7])
        predicted = "HGG"
        weights = {"mri": 1.0}

    slice_2d = np.random.default_rng(0).random((60, 50))
    mask = np.zeros((60, 50), np.uint8)
    mask[20:30, 20:30] = 3
    heat = np.full((40, 40), np.nan)
    heat[:20] = 0.5
    (png,) = sm.render_case_summary(
        case_id="P1",
        out=tmp_path / "p1",
        mri=slice_2d,
        mask=mask,
        slide_thumbnails=[np.full((40, 40, 3), 230, np.uint8)],
        slide_heatmaps=[heat],
        prediction=Simple(),
        volumes={"whole_tumour": 1.5},
        formats=["png"],
        dpi=50,
    )
    image = imread(png)
    assert _has_colour(image, (1.0, 0.85, 0.05), tol=0.35) > 0  # enhancing tumour yellow


def test_pdf_heat_maps_are_matched_to_slides_by_file_name():
    """Slide b failed to embed: c's tiles (group 1 among embedded slides) go on c, not b."""
    from types import SimpleNamespace

    from corebt_viewer.services.summary import _heatmaps_from_prediction

    tiles = SimpleNamespace(
        slide="c.svs", group=1, coords=np.array([[0, 0], [256, 0]]), values=np.array([1.0, -1.0])
    )
    prediction = SimpleNamespace(tile_contributions=(tiles,))
    thumbs = [np.zeros((32, 32, 3), np.uint8)] * 3
    maps = _heatmaps_from_prediction(
        prediction, thumbs, [(1024, 1024)] * 3, 256, ["a.svs", "b.svs", "c.svs"]
    )
    assert maps[0] is None and maps[1] is None
    assert maps[2] is not None and np.isfinite(maps[2]).any()


def test_the_page_says_which_model_and_why_the_report_matters(tmp_path):
    """A report model's summary says it reads the report, and why; eq. 2's says eq. 2."""

    class Prediction:
        classes = ("LGG", "HGG")
        probabilities = np.array([0.3, 0.7])
        predicted = "HGG"
        weights = {"mri": 0.5, "report": 0.5}
        ablation_mode = "paper"
        uses_report = True

    line = sm.model_line(Prediction())
    assert line.startswith("model: MRI + Pathology + Report")
    assert line.endswith("(uses the report: a final report usually states the diagnosis)")
    pdf, png = sm.render_case_summary(case_id="P1", out=tmp_path / "r", prediction=Prediction())
    assert b"a final report usually states the diagnosis" in pdf.read_bytes()
    assert b"a final report usually states the diagnosis" in png.read_bytes()
    Prediction.uses_report = False
    assert sm.model_line(Prediction()) == "model: MRI + Pathology (eq. 2)"
    (pdf,) = sm.render_case_summary(
        case_id="P1", out=tmp_path / "e", prediction=Prediction(), formats=["pdf"], dpi=50
    )
    data = pdf.read_bytes()
    assert b"eq. 2" in data and b"uses the report" not in data
    assert sm.model_line(None) == ""


def test_summary_lists_the_rano_measurement(tmp_path, monkeypatch):
    from corebt_viewer.services.mri_measure import measure_rano

    mask = np.zeros((60, 60, 5), np.uint8)
    mask[10:50, 20:40, 2] = 3
    rano = measure_rano(mask, (1.0, 1.0, 1.0))
    tables = {}
    real_table = sm._table

    def spy(ax, title, header, rows, *args, **kwargs):
        tables[title] = rows
        return real_table(ax, title, header, rows, *args, **kwargs)

    monkeypatch.setattr(sm, "_table", spy)
    (pdf,) = sm.render_case_summary(case_id="X", out=tmp_path / "x", rano=rano, formats=("pdf",))
    assert pdf.read_bytes().startswith(b"%PDF")
    rows = dict(map(tuple, tables["Region volumes"]))
    assert rows["RANO longest (enhancing tumour)"] == f"{rano.longest_mm:.1f} mm"
    assert rows["RANO perpendicular"] == f"{rano.perpendicular_mm:.1f} mm"
    assert rows["Enhancing tumour"] == f"{40 * 20 / 1000:.2f}"  # volumes from the measurement
