"""Small trained models on generated embeddings, shared by the fusion tests."""

import pytest

from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.synthetic import make_embeddings
from corebt_viewer.fusion.train import TrainSettings, train_fusion

CLASSES = ("A", "B", "C", "D")
FAST = TrainSettings(max_epochs=60, patience=15, crossfit_folds=3, l2_grid=(1e-2, 1.0))


def trained(designs, *, n=240, seed=0, **kw):
    embeddings, labels = make_embeddings(n, designs=designs, seed=seed, dim=8, **kw)
    model = train_fusion(
        embeddings, labels, task="level1", classes=CLASSES, seed=seed, settings=FAST
    )
    return model, embeddings, labels


@pytest.fixture(scope="session")
def train_synthetic():
    """The function that trains a small model on generated embeddings."""
    return trained


@pytest.fixture(scope="session")
def noise_wsi():
    """MRI carries the class, pathology is pure noise."""
    return trained({Modality.MRI: "full", Modality.WSI: "none"})


@pytest.fixture(scope="session")
def complementary():
    """MRI tells {A,B} from {C,D}, pathology {A,C} from {B,D}; reports are noise, some missing."""
    return trained(
        {Modality.MRI: "high_bit", Modality.WSI: "low_bit", Modality.REPORT: "none"},
        missing={Modality.REPORT: 0.3, Modality.MRI: 0.1},
    )
