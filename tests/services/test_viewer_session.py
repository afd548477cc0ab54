"""The viewer's case session, with no display: a synchronous runner drives it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.errors import CoreBTError
from corebt_viewer.core.modalities import Modality, Sequence
from corebt_viewer.core.prediction import CasePrediction, TileContributions
from corebt_viewer.embed.profile import make_profile
from corebt_viewer.services.viewer_session import SyncRunner, ViewerSession


@dataclass
class FakeModel:
    """A stand-in for FusionPredictor: tile contributions by slide, as the real one gives."""

    task: str = "level1"
    classes: tuple = ("Glioblastoma", "Oligodendroglioma")
    modalities: tuple = (Modality.MRI, Modality.WSI)
    split: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    temperature: float = 1.5
    encoders: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    uses_report: bool = False
    temperatures_by_pattern: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    ablations: list = field(default_factory=list)

    def predict(self, embedding, without=frozenset(), ablation="missing"):
        self.calls.append((embedding.patient_id, frozenset(without)))
        self.ablations.append(ablation)
        used = embedding.modalities & set(self.modalities) - set(without)
        tiles = []
        parts = embedding.parts.get(Modality.WSI)
        if parts is not None and Modality.WSI in used:
            for g in np.unique(parts.group):  # group: index among the slides that embedded
                index = np.flatnonzero(parts.group == g)
                tiles.append(
                    TileContributions(
                        parts.labels[index[0]], int(g), parts.coords[index], index * 1.0
                    )
                )
        flags = {}
        if embedding.patient_id in self.split.get("train", ()):
            flags["split"] = "this case is in the model's train set: not an unseen case"
        return CasePrediction(
            patient_id=embedding.patient_id,
            task=self.task,
            classes=self.classes,
            probabilities=np.array([0.7, 0.3]),
            predicted=self.classes[0],
            available=embedding.modalities,
            used=frozenset(used),
            ablation_mode=ablation,
            uses_report=self.uses_report,
            weights={m: 0.5 for m in used},
            gate=0.5,
            contributions={},
            logits=np.zeros(2),
            tile_contributions=tuple(tiles),
            flags=flags,
        )


def embedding_of(case: Case, slides_ok, flags=None) -> CaseEmbedding:
    """MRI plus the tiles of the slides in `slides_ok` (3 tiles each, distinct coords)."""
    coords, groups, labels = [], [], []
    for g, name in enumerate(slides_ok):
        for t in range(3):
            coords.append((1000 * (g + 1) + 256 * t, 0))
            groups.append(g)
            labels.append(name)
    parts = {
        Modality.WSI: PooledParts(
            np.ones((len(coords), 4)),
            np.full(len(coords), 1 / len(coords)),
            tuple(labels),
            np.asarray(coords),
            np.asarray(groups),
        ),
        Modality.MRI: PooledParts(np.ones((1, 4)), np.ones(1), ("t1",)),
    }
    vectors = {m: p.vector for m, p in parts.items()}
    return CaseEmbedding(case.patient_id, vectors, parts=parts, flags=dict(flags or {}))


@pytest.fixture
def cohort(tmp_path: Path) -> Cohort:
    slides = tuple(tmp_path / f"{name}.svs" for name in ("a", "b", "c"))
    for s in slides:
        s.write_bytes(b"not a slide")
    cases = (
        Case("P1", slides=slides, labels=CaseLabels(level1="GBM / IDH-wt HGG", who_grade=4)),
        Case("P2", slides=slides[:1], labels=CaseLabels(level1="Oligodendroglioma", who_grade=2)),
    )
    return Cohort(tmp_path, cases)


def open_session(cohort, model, embeddings, runner=None) -> tuple[ViewerSession, list]:
    session = ViewerSession(runner or SyncRunner())
    shown: list = []
    session.events.prediction_changed.connect(shown.append)
    session.open_cohort(cohort, embeddings=embeddings, load_model=False)
    session._on_model_loaded(("CPU", model, embeddings, {}, {}))  # noqa: SLF001 - no model files
    return session, shown


def test_every_flag_is_shown_and_tiles_are_keyed_by_slide_file(cohort):
    case = cohort["P1"]
    failure = f"P1: slide {case.slides[1]}: cannot read the slide"
    embedding = embedding_of(
        case, ["a.svs", "c.svs"], {"mri": "no mask: whole-brain features only", "failures": failure}
    )
    model = FakeModel(split={"train": ["P1"]})
    session, shown = open_session(cohort, model, {"P1": embedding})
    session.open_case("P1")
    state = shown[-1]
    assert state.status == "ready" and state.seen_in == "train"
    texts = " | ".join(state.flags.values())
    assert "no mask: whole-brain features only" in texts
    assert "train set" in texts
    assert "slide b.svs failed and was left out: cannot read the slide" in texts
    assert state.slide_problems == {"b.svs": "cannot read the slide"}
    # slide c is the SECOND slide that embedded (group 1) but the third file: its map is
    # keyed by its file, with its own tiles, never landing on b
    assert set(state.slide_tiles) == {"a.svs", "c.svs"}
    assert state.slide_tiles["c.svs"].coords[:, 0].min() == 2000
    assert state.slide_tiles["c.svs"].values is not None


def test_truth_follows_the_model_task(cohort):
    model = FakeModel(task="who_grade", classes=("Grade 2", "Grade 3", "Grade 4"))
    session, _ = open_session(cohort, model, {})
    from corebt_viewer.core.tasks import get_task

    who = get_task("who_grade")
    assert session.truth(cohort["P1"]) == who.class_name(None, 4) == "Grade 4"
    session.model = None  # no model: the level-1 class
    assert session.truth(cohort["P1"]) == "GBM / IDH-wt HGG"


def test_switches_reuse_the_variants_predicted_in_a_task(cohort):
    embedding = embedding_of(cohort["P1"], ["a.svs"])
    model = FakeModel()
    session, shown = open_session(cohort, model, {"P1": embedding})
    session.open_case("P1")
    assert sorted(model.calls) == sorted(
        [("P1", frozenset()), ("P1", frozenset({Modality.MRI})), ("P1", frozenset({Modality.WSI}))]
    )
    model.calls.clear()
    session.set_without({Modality.WSI})
    assert shown[-1].prediction.used == {Modality.MRI}
    session.set_without(set())
    assert model.calls == []  # all from the cache
    session.set_without({Modality.MRI, Modality.WSI})
    assert shown[-1].status == "all_off"


def test_only_the_latest_case_result_is_shown(cohort):
    runner = SyncRunner(defer=True)
    model = FakeModel()
    session, shown = open_session(cohort, model, {}, runner=runner)
    embedded = []
    session._embed_case = lambda case, progress=None, cancel=None: (  # noqa: SLF001
        embedded.append(case.patient_id) or embedding_of(case, ["a.svs"])
    )
    session.open_case("P1")
    session.open_case("P2")
    runner.run_pending()
    ready = [s.patient_id for s in shown if s.status == "ready"]
    assert ready == ["P2"]
    assert session.is_case_ready is False  # mri, slides, report: the views' part


def test_case_ready_after_every_part(cohort):
    session, _ = open_session(cohort, FakeModel(), {"P2": embedding_of(cohort["P2"], ["a.svs"])})
    ready = []
    session.events.case_ready.connect(ready.append)
    session.open_case("P2")
    for part in ("mri", "slides", "report"):
        assert not ready
        session.mark_done(part)
    assert ready == ["P2"] and session.is_case_ready


def test_the_embedding_profile_comes_from_the_model(cohort, monkeypatch):
    from corebt_viewer.embed.profile import TilingSettings

    seen = {}

    def fake_embed_case(**kwargs):
        seen.update(kwargs)
        return embedding_of(kwargs["case"], ["a.svs"])

    monkeypatch.setattr("corebt_viewer.services.embedding.embed_case", fake_embed_case)
    recorded = make_profile(report="hashing-tfidf", tiling=TilingSettings(tile_size=224))
    model = FakeModel(settings={"profile": recorded.renamed("small-tiles").to_json()})
    session, shown = open_session(cohort, model, {})
    session.open_case("P2")
    assert seen["profile"].name == "small-tiles" and seen["profile"].tiling.tile_size == 224
    assert shown[-1].status == "ready"


def test_model_card(cohort, tmp_path):
    """The viewer's card is the one card: task, classes, grouping, profile, counts,
    calibration, training cases, date and the evaluation table."""
    folder = tmp_path / "model"
    (folder / "evaluation").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "evaluation" / "table.md").write_text("| model | F1 |\n| fusion | 0.8 |\n")
    model = FakeModel(
        split={"train": ["P1", "x"], "validation": ["y"], "test": []},
        settings={"profile": make_profile(report="hashing-tfidf").to_json()},
        encoders={Modality.WSI: "builtin-resnet", Modality.REPORT: "hashing-tfidf"},
        metrics={
            "embedding": {"cases_with_embedding": {"wsi": 2}, "cases_with_files": {"wsi": 3}},
            "calibration": {"n_cases": 6, "fitted_on": "calibration", "temperature": 1.5},
        },
    )
    session, _ = open_session(cohort, model, {})
    session.model_dir = folder
    card = session.model_card()
    text = "\n".join(card.lines())
    assert "trained on 2 cases (1 validation, 0 calibration, 0 held out)" in text
    assert "temperature 1.500" in text and "profile builtin" in text
    assert "Pathology: builtin-resnet" in text and "Pathology 2/3 cases" in text
    assert "Other glioma <- Circumscribed Astrocytic Glioma" in text
    assert "inputs: MRI + Pathology (eq. 2)" in text
    assert "report" not in text.lower()  # an eq. 2 model names no report encoder
    assert "held-out ECE not measured" in card.calibration_line()
    assert "| fusion | 0.8 |" in card.evaluation
    assert card.evaluation_table == folder / "evaluation" / "table.md"
    (folder / "last_evaluation.json").write_text(
        '{"table": "%s", "n": 40, "ece_before": 0.12, "ece_after": 0.05, '
        '"source": "held-out test split"}' % (folder / "evaluation" / "table.md")
    )
    line = session.model_card().calibration_line()
    assert line.startswith("calibrated (ECE 0.05 on 40 held-out cases"), line
    (folder / "last_evaluation.json").write_text("{broken")
    with pytest.raises(CoreBTError, match="evaluation record"):
        session.model_card()


def test_report_model_says_why_in_its_card(cohort, tmp_path):
    model = FakeModel(uses_report=True, modalities=(Modality.MRI, Modality.WSI, Modality.REPORT))
    model.settings["profile"] = make_profile(report="hashing-tfidf").to_json()
    session, _ = open_session(cohort, model, {})
    session.model_dir = tmp_path / "level1+report"
    text = "\n".join(session.model_card().lines())
    assert "a final report usually states the diagnosis" in text
    assert "report: hashing-tfidf" in text


def test_the_ablation_meaning_is_kept_and_cached_per_meaning(cohort):
    model = FakeModel()
    session, shown = open_session(cohort, model, {"P1": embedding_of(cohort["P1"], ["a.svs"])})
    session.open_case("P1")
    assert shown[-1].prediction.ablation_mode == "missing"
    session.set_ablation("paper")
    assert shown[-1].prediction.ablation_mode == "paper" and session.ablation == "paper"
    assert model.ablations[-1] == "paper"
    # the paper meaning may ablate everything: the probes still vote
    session.set_without({Modality.MRI, Modality.WSI})
    assert shown[-1].status == "ready" and shown[-1].prediction.ablation_mode == "paper"
    session.set_without(set())
    n_calls = len(model.calls)
    session.set_ablation("missing")
    session.set_ablation("paper")
    assert len(model.calls) == n_calls  # both meanings from the cache
    assert shown[-1].prediction.ablation_mode == "paper"
    with pytest.raises(ValueError, match="ablation meaning"):
        session.set_ablation("other")


def test_the_report_model_is_switched_to_and_back(cohort, tmp_path, monkeypatch):
    base = tmp_path / "models" / "level1"
    for folder in (base, base.with_name("level1+report")):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    eq2 = FakeModel()
    with_report = FakeModel(uses_report=True)
    loaded = []

    def fake_load(path):
        loaded.append(Path(path).name)
        return with_report if Path(path).name.endswith("+report") else eq2

    monkeypatch.setattr("corebt_viewer.services.fusion.load_model", fake_load)
    embeddings = {"P1": embedding_of(cohort["P1"], ["a.svs"])}
    session = ViewerSession(SyncRunner())
    shown, listed = [], []
    session.events.prediction_changed.connect(shown.append)
    session.events.case_predictions.connect(listed.append)
    session.open_cohort(cohort, model_dir=base, embeddings=embeddings)
    session.open_case("P1")
    assert session.model is eq2 and not session.uses_report_model
    assert session.report_model_available()
    assert not shown[-1].prediction.uses_report
    session.use_report_model(True)
    assert loaded == ["level1", "level1+report"] and session.model is with_report
    assert session.uses_report_model and shown[-1].prediction.uses_report
    assert listed[-1]["P1"].uses_report  # the case list follows
    session.use_report_model(False)
    assert session.model is eq2 and not shown[-1].prediction.uses_report
    for path in base.with_name("level1+report").iterdir():
        path.unlink()
    assert not session.report_model_available()
    with pytest.raises(CoreBTError, match="with-report"):
        session.use_report_model(True)


def write_mri_case(root: Path, rng: np.random.Generator) -> Case:
    """A 32^3 four-sequence MRI with a BraTS-style mask (labels 1, 2, 4), as NIfTI files."""
    import nibabel as nib

    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    mri = {}
    for seq in (Sequence.T1, Sequence.T1C, Sequence.T2, Sequence.FLAIR):
        data = rng.normal(100, 20, (32, 32, 32)).astype(np.float32)
        mri[seq] = root / f"M1_{seq.value}.nii.gz"
        nib.save(nib.Nifti1Image(data, affine), mri[seq])
    seg = np.zeros((32, 32, 32), np.uint8)
    seg[10:20, 10:20, 10:20] = 2
    seg[12:18, 12:18, 12:18] = 4
    seg[14:16, 14:16, 14:16] = 1
    path = root / "M1_seg.nii.gz"
    nib.save(nib.Nifti1Image(seg, affine), path)
    return Case("M1", mri=mri, segmentation=path, labels=CaseLabels(level1="Oligodendroglioma"))


def test_a_saved_mask_changes_the_mri_embedding_and_the_prediction(tmp_path, rng):
    from corebt_viewer.services import review

    case = write_mri_case(tmp_path, rng)
    cohort = Cohort(tmp_path, (case,))
    model = FakeModel(
        modalities=(Modality.MRI,),
        settings={"profile": make_profile(report="hashing-tfidf").to_json()},
    )
    session, shown = open_session(cohort, model, {})
    session.open_case("M1")
    first = shown[-1]
    assert first.status == "ready" and first.mask_version == "original"
    before = session.embeddings["M1"].vectors[Modality.MRI]

    location = review.mask_location(cohort_root=tmp_path, case=case)
    labels = review.load_mask_version(location=location, version=None).labels.copy()
    labels[labels > 0] = 0  # the annotator moves the tumour
    labels[2:8, 2:8, 2:8] = 2
    saved = review.save_mask_version(
        cohort_root=tmp_path, case_id="M1", location=location, labels=labels, author="ana"
    )
    assert saved.version.label == "v001"
    session.mask_saved("M1")
    states = [s.status for s in shown[shown.index(first) + 1 :]]
    assert states[0] == "embedding" and "v001" in shown[shown.index(first) + 1].message
    after = shown[-1]
    assert after.status == "ready" and after.mask_version == "v001"
    assert not np.allclose(session.embeddings["M1"].vectors[Modality.MRI], before)
    assert after.prediction is not first.prediction
