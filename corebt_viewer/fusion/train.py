"""Training CoRe-BT-Fusion: probes first, then the fusion with modality dropout.

Steps (all seeded):

1. a stratified test split, drawn from the cases that have both MRI and pathology (the
   paper evaluates on those), is set aside and recorded; a stratified validation split is
   taken from the rest;
2. standardisation statistics per modality from the training cases;
3. one multinomial logistic-regression probe per modality, on the training cases that have
   it, class-weighted, its L2 strength chosen by the cross-validated (out-of-fold) loss on
   those training cases (the validation split is often too small to choose it);
4. the gating scorers, ``alpha`` and ``Phi`` with the probes frozen, fed *cross-fitted* probe
   logits (each training case's probe logits come from a probe that did not see it, so a
   probe that memorised its training cases does not look better than it is), with modality
   dropout (each available modality hidden with some probability, at least one kept), a
   class-weighted loss, and early stopping on the validation macro F1 (ties: lower loss);
5. temperature scaling on a calibration split that neither trains the model nor chooses
   its epoch: each calibration case is scored under every subset of its modalities, one
   temperature is fitted, and one per availability pattern replaces it only if that lowers
   the ECE on held-out folds of the calibration cases
   (:func:`corebt_viewer.fusion.reliability.choose_temperatures`).

MRI cases that carry their per-sequence embeddings are also shown, with probability
``sequence_dropout``, re-pooled from a random non-empty proper subset of their sequences
(:mod:`corebt_viewer.fusion.sequence_dropout`), so incomplete MRI is not new to the model.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding
from corebt_viewer.core.errors import InputError
from corebt_viewer.core.modalities import Modality
from corebt_viewer.core.progress import ProgressCallback, report
from corebt_viewer.fusion.calibration import negative_log_likelihood
from corebt_viewer.fusion.data import common_dims, common_encoders, modalities_of, stack
from corebt_viewer.fusion.metrics import classification_metrics
from corebt_viewer.fusion.predictor import FusionPredictor
from corebt_viewer.fusion.sequence_dropout import drop_sequences, sequence_variants
from corebt_viewer.fusion.standardise import Standardiser
from corebt_viewer.fusion.train_calibration import calibrate


@dataclass(frozen=True)
class TrainSettings:
    """Settings of :func:`train_fusion` (defaults suit a few hundred cases)."""

    test_fraction: float = 0.2
    validation_fraction: float = 0.2
    calibration_fraction: float = 0.15
    l2_grid: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    crossfit_folds: int = 5
    max_epochs: int = 150
    patience: int = 30
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    modality_dropout: float = 0.4
    sequence_dropout: float = 0.3
    gate_hidden: int = 16
    residual_hidden: int = 64
    dropout: float = 0.1

    def to_json(self) -> dict:
        data = asdict(self)
        data["l2_grid"] = list(self.l2_grid)
        return data


@dataclass
class Split:
    """Patient ids of each part of the data."""

    train: list[str]
    validation: list[str]
    test: list[str] = field(default_factory=list)
    calibration: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, list[str]]:
        return {
            "train": self.train,
            "validation": self.validation,
            "calibration": self.calibration,
            "test": self.test,
        }


def class_weights(targets: np.ndarray, n_classes: int) -> np.ndarray:
    """``n / (C * n_c)`` per class present, 0 for absent classes (balanced loss)."""
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def stratified_pick(
    indices: np.ndarray, targets: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """About `fraction` of `indices` from each class (one at least from classes of >= 2)."""
    picked = []
    for c in np.unique(targets[indices]):
        members = indices[targets[indices] == c]
        members = members[rng.permutation(members.size)]
        n = int(round(fraction * members.size))
        if members.size >= 2:
            n = min(max(n, 1), members.size - 1)
        else:
            n = 0
        picked.extend(members[:n].tolist())
    return np.sort(np.asarray(picked, dtype=int))


def split_cases(
    ids: Sequence[str],
    targets: np.ndarray,
    eligible: np.ndarray,
    settings: TrainSettings,
    seed: int,
    *,
    test_ids: Sequence[str] | None = None,
) -> Split:
    """Stratified test split among `eligible` cases, then stratified calibration and
    validation splits of the rest.

    With `test_ids` given (the cohort's shared split, or a cross-validation fold), those
    are the test cases.
    """
    rng = np.random.default_rng(seed)
    index = np.arange(len(ids))
    if test_ids is None:
        test = stratified_pick(index[eligible], targets, settings.test_fraction, rng)
    else:
        wanted = set(test_ids)
        test = index[[i in wanted for i in ids]] if len(ids) else index
    rest = np.setdiff1d(index, test)
    cal = stratified_pick(rest, targets, settings.calibration_fraction, rng)
    rest = np.setdiff1d(rest, cal)
    val = stratified_pick(rest, targets, settings.validation_fraction, rng)
    train = np.setdiff1d(rest, val)
    return Split(
        train=[ids[i] for i in train],
        validation=[ids[i] for i in val],
        test=[ids[i] for i in test],
        calibration=[ids[i] for i in cal],
    )


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch and BLAS on one thread: the model is tiny, and on a busy machine extra
    threads spin-wait (measured: 2 threads made training 7x slower than 1 under load)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------ probes
def fit_probe(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    l2: float,
    sample_weight: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (L-BFGS): returns (weight (C, d), bias (C,)).

    Minimises the `sample_weight`-weighted mean cross-entropy plus ``l2 / 2 * |W|^2``.
    Classes absent from `y` get a bias that keeps them improbable.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    sw = np.asarray(sample_weight, dtype=np.float64)
    sw = sw / sw.sum()
    present = np.unique(y)
    weight = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
    bias = np.full(n_classes, -10.0, dtype=np.float32)
    if present.size == 1:
        bias[present[0]] = 0.0
        return weight, bias
    clf = LogisticRegression(C=1.0 / l2, max_iter=500, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y, sample_weight=sw)
    coef, intercept = clf.coef_, clf.intercept_
    if present.size == 2:  # scikit-learn's binary form: one logit difference
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight[present] = coef
    bias[present] = intercept
    return weight, bias


def probe_logits(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) @ weight.T.astype(np.float64) + bias


def weighted_nll(logits: np.ndarray, y: np.ndarray, cw: np.ndarray) -> float:
    """Class-weighted mean cross-entropy."""
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    w = cw[y]
    return float(-(w * logp[np.arange(y.size), y]).sum() / max(w.sum(), 1e-12))


def folds_of(n: int, k: int, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fold number per case, classes spread evenly over the folds."""
    fold = np.zeros(n, dtype=int)
    for c in np.unique(targets):
        members = np.flatnonzero(targets == c)
        members = members[rng.permutation(members.size)]
        fold[members] = np.arange(members.size) % k
    return fold


# ------------------------------------------------------------------------ fusion
def _macro_f1(logits: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    return classification_metrics(y, logits.argmax(1), n_classes)["f1_macro"] if y.size else 0.0


def _one_thread(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with single_threaded():
            return function(*args, **kwargs)

    return wrapper


@_one_thread
def train_fusion(
    embeddings: Mapping[str, CaseEmbedding],
    targets: Mapping[str, int],
    *,
    task: str,
    classes: Sequence[str],
    allowed: frozenset[Modality] | None = None,
    seed: int = 0,
    settings: TrainSettings | None = None,
    test_ids: Sequence[str] | None = None,
    manifest_hash: str = "",
    progress: ProgressCallback | None = None,
) -> FusionPredictor:
    """Train the fusion model on labelled embeddings.

    Parameters
    ----------
    embeddings : mapping patient id -> CaseEmbedding
    targets : mapping patient id -> class index
        Only cases present in both mappings are used.
    task : str
    classes : sequence of str
    allowed : frozenset of Modality, optional
        Modalities the model may use (default: all that occur).
    seed : int
    settings : TrainSettings, optional
    test_ids : sequence of str, optional
        Use these cases as the test set (cross-validation) instead of drawing one.
    manifest_hash : str
        Recorded in the model.
    progress : callable, optional

    Returns
    -------
    FusionPredictor
    """
    import torch

    from corebt_viewer.fusion.model import FusionNet

    settings = settings or TrainSettings()
    started = time.perf_counter()
    classes = tuple(classes)
    n_classes = len(classes)
    ids = sorted(pid for pid in embeddings if pid in targets and targets[pid] is not None)
    cases = [embeddings[pid] for pid in ids]
    y_all = np.array([int(targets[pid]) for pid in ids], dtype=np.int64)
    modalities = modalities_of(cases, allowed if allowed is not None else frozenset(Modality))
    if not modalities:
        raise InputError(None, f"no labelled case has an embedding for task {task}")
    dims = common_dims(cases, modalities)
    raw, available = stack(cases, modalities, dims)
    paper = [j for j, m in enumerate(modalities) if m in (Modality.MRI, Modality.WSI)]
    eligible = available[:, paper].all(1) if paper else np.ones(len(ids), dtype=bool)
    split = split_cases(ids, y_all, eligible, settings, seed, test_ids=test_ids)
    position = {pid: i for i, pid in enumerate(ids)}
    tr = np.array([position[p] for p in split.train], dtype=int)
    va = np.array([position[p] for p in split.validation], dtype=int)
    if tr.size == 0:
        raise InputError(None, f"too few labelled cases to train a model for task {task}")
    y_tr, y_va = y_all[tr], y_all[va]
    cw = class_weights(y_tr, n_classes)
    report(progress, 0, 3, f"training on {tr.size} cases, validating on {va.size}", "train")

    # standardisation and probes
    standardisers: dict[Modality, Standardiser] = {}
    z_all: list[np.ndarray] = []
    for j, m in enumerate(modalities):
        have = tr[available[tr, j]]
        if have.size == 0:
            raise InputError(None, f"no training case has {m.title} for task {task}")
        standardisers[m] = Standardiser.fit(raw[j][have])
        z = np.zeros_like(raw[j])
        z[available[:, j]] = standardisers[m].transform(raw[j][available[:, j]])
        z_all.append(z)

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    mri_fold_probes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    probes: dict[Modality, tuple[np.ndarray, np.ndarray]] = {}
    crossfit = np.zeros((len(ids), len(modalities), n_classes))
    probe_metrics = {}
    for j, m in enumerate(modalities):
        have = tr[available[tr, j]]
        have_va = va[available[va, j]]
        x, y = z_all[j][have], y_all[have]
        folds = folds_of(have.size, min(settings.crossfit_folds, max(have.size, 2)), y, rng)
        best = None
        for l2 in settings.l2_grid:
            oof = np.zeros((have.size, n_classes))
            fold_probes = {}
            for f in np.unique(folds):
                inside, outside = folds == f, folds != f
                fit_on = outside if outside.any() else inside
                wf, bf = fit_probe(x[fit_on], y[fit_on], n_classes, l2, cw[y[fit_on]])
                oof[inside] = probe_logits(x[inside], wf, bf)
                fold_probes[int(f)] = (wf, bf)
            score = weighted_nll(oof, y, cw)
            if best is None or score < best[0]:
                best = (score, l2, oof, fold_probes)
        _, l2, oof, fold_probes = best
        if m is Modality.MRI:
            mri_fold_probes = {
                int(i): fold_probes[int(f)] for i, f in zip(have, folds, strict=True)
            }
        w, b = fit_probe(x, y, n_classes, l2, cw[y])
        probes[m] = (w, b)
        crossfit[have, j] = oof
        crossfit[va, j] = probe_logits(z_all[j][va], w, b)
        val_pred = probe_logits(z_all[j][have_va], w, b).argmax(1) if have_va.size else []
        probe_metrics[m.value] = {
            "l2": l2,
            "crossfit_loss": float(best[0]),
            "n_train": int(have.size),
            "n_validation": int(have_va.size),
            "validation_f1_macro": (
                classification_metrics(y_all[have_va], val_pred, n_classes)["f1_macro"]
                if have_va.size
                else None
            ),
        }
    report(progress, 1, 3, "probes trained", "train")
    notes: list[str] = []
    variants = sequence_variants(
        cases, modalities, raw, available, tr, standardisers, mri_fold_probes, settings, notes
    )

    net = FusionNet(
        [dims[m] for m in modalities],
        n_classes,
        gate_hidden=settings.gate_hidden,
        residual_hidden=settings.residual_hidden,
        dropout=settings.dropout,
    )
    with torch.no_grad():
        for j, m in enumerate(modalities):
            net.probes[j].weight.copy_(torch.from_numpy(probes[m][0]))
            net.probes[j].bias.copy_(torch.from_numpy(probes[m][1]))
    for p in net.probes.parameters():
        p.requires_grad_(False)

    z_t = [torch.from_numpy(z) for z in z_all]
    avail_t = torch.from_numpy(available)
    cross_t = torch.from_numpy(crossfit.astype(np.float32))
    y_t = torch.from_numpy(y_all)
    cw_t = torch.from_numpy(cw.astype(np.float32))
    va_t = torch.from_numpy(va)

    def validate() -> tuple[float, float, np.ndarray]:
        net.eval()
        with torch.inference_mode():
            out = net([z[va_t] for z in z_t], avail_t[va_t])
            logits = out.logits.numpy().astype(np.float64)
        return _macro_f1(logits, y_va, n_classes), weighted_nll(logits, y_va, cw), logits

    optimiser = torch.optim.AdamW(
        net.fusion_parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    generator = torch.Generator().manual_seed(seed)
    f1, loss, _ = validate()
    init_f1 = best_f1 = f1
    last_gain = 0
    best = ((f1, -loss), 0, copy.deepcopy(net.state_dict()))
    history = [{"epoch": 0, "validation_f1_macro": f1, "validation_loss": loss}]
    epoch = 0
    tr_t = torch.from_numpy(tr)
    for epoch in range(1, settings.max_epochs + 1):
        net.train()
        order = tr_t[torch.randperm(tr.size, generator=generator)]
        for start in range(0, tr.size, settings.batch_size):
            batch = order[start : start + settings.batch_size]
            avail_b = avail_t[batch]
            drop = (
                torch.rand(avail_b.shape, generator=generator) < settings.modality_dropout
            ) & avail_b
            kept_none = ~(avail_b & ~drop).any(1)
            if kept_none.any():
                noise = torch.rand(avail_b.shape, generator=generator).masked_fill(~avail_b, -1.0)
                rescue = torch.nn.functional.one_hot(noise.argmax(1), avail_b.shape[1]).bool()
                drop = drop & ~(rescue & kept_none[:, None])
            inputs, cross_b = [z[batch] for z in z_t], cross_t[batch]
            if variants:
                inputs, cross_b = drop_sequences(
                    inputs,
                    cross_b,
                    batch,
                    drop,
                    variants,
                    settings.sequence_dropout,
                    generator,
                    modalities.index(Modality.MRI),
                )
            out = net(inputs, avail_b, drop, mode="missing", probe_logits=cross_b)
            loss_b = torch.nn.functional.cross_entropy(out.logits, y_t[batch], weight=cw_t)
            optimiser.zero_grad()
            loss_b.backward()
            optimiser.step()
        f1, loss, _ = validate()
        history.append({"epoch": epoch, "validation_f1_macro": f1, "validation_loss": loss})
        if f1 > best_f1:
            best_f1, last_gain = f1, epoch
        if (f1, -loss) > best[0]:
            best = ((f1, -loss), epoch, copy.deepcopy(net.state_dict()))
        if epoch - last_gain >= settings.patience:
            break
        if epoch % 10 == 0:
            report(progress, 1, 3, f"fusion epoch {epoch}: validation macro F1 {f1:.3f}", "train")
    net.load_state_dict(best[2])
    f1, loss, val_logits = validate()
    ca = np.array([position[p] for p in split.calibration], dtype=int)
    calibration = calibrate(net, z_t, available, y_all, ca, modalities, seed, notes)
    temperature = calibration["temperature"]
    report(progress, 2, 3, f"calibrated (temperature {temperature:.3f})", "train")

    metrics = {
        "probes": probe_metrics,
        "fusion": {
            "validation_f1_macro_at_init": init_f1,
            "validation_f1_macro": f1,
            "validation_nll": negative_log_likelihood(val_logits, y_va, 1.0) if y_va.size else None,
            "best_epoch": best[1],
            "epochs_run": epoch,
            "history": history,
        },
        "calibration": calibration,
        "sequence_dropout": {
            "probability": settings.sequence_dropout,
            "training_cases_with_sequences": len(variants),
        },
        "notes": notes,
        "n_cases": {
            "train": int(tr.size),
            "validation": int(va.size),
            "calibration": int(ca.size),
            "test": len(split.test),
        },
        "class_counts_train": np.bincount(y_tr, minlength=n_classes).tolist(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    report(progress, 3, 3, "done", "train")
    return FusionPredictor(
        net=net.eval(),
        task=task,
        classes=classes,
        modalities=modalities,
        standardisers=standardisers,
        encoders=common_encoders(cases, modalities),
        temperature=temperature,
        split=split.to_json(),
        metrics=metrics,
        settings={**settings.to_json(), "seed": seed},
        manifest_hash=manifest_hash,
    )
