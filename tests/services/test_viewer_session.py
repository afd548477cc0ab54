"""The viewer's case session, with no display: a synchronous runner drives it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from corebt_viewer.core.case import Case, CaseLabels, Cohort
from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
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
    calls: list = field(default_factory=list)

    def predict(self, embedding, without=frozenset()):
        self.calls.append((embedding.patient_id, frozenset(without)))
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
            ablation_mode="missing",
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
    folder = tmp_path / "model"
    (folder / "evaluation").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "evaluation" / "table.md").write_text("| model | F1 |\n| fusion | 0.8 |\n")
    model = FakeModel(
        split={"train": ["P1", "x"], "validation": ["y"], "test": []},
        settings={"profile": make_profile(report="hashing-tfidf").to_json()},
        encoders={Modality.WSI: "builtin-resnet"},
    )
    session, _ = open_session(cohort, model, {})
    session.model_dir = folder
    card = session.model_card()
    text = "\n".join(card.lines())
    assert "Trained on 2 cases (1 validation, 0 held out)" in text
    assert "temperature: 1.500" in text and "profile builtin" in text
    assert "Pathology: builtin-resnet" in text and "Glioblastoma" in text
    assert "| fusion | 0.8 |" in card.evaluation


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
