"""Speed of the fusion model: training on a few hundred cases, and one-case predictions
(with the ablation table and the tile/sequence explanations) as the viewer asks for them.

Run: ``.venv/bin/python benchmarks/bench_fusion.py [--tiles N] [--dim D]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from corebt_viewer.core.embedding import CaseEmbedding, PooledParts
from corebt_viewer.core.modalities import Modality
from corebt_viewer.fusion.synthetic import make_embeddings
from corebt_viewer.fusion.train import TrainSettings, train_fusion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--dim", type=int, default=768, help="embedding size per modality")
    parser.add_argument("--tiles", type=int, default=4000, help="tiles of the predicted case")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    designs = {Modality.MRI: "high_bit", Modality.WSI: "low_bit", Modality.REPORT: "none"}
    embeddings, labels = make_embeddings(args.cases, designs=designs, dim=args.dim)
    start = time.perf_counter()
    model = train_fusion(
        embeddings, labels, task="level1", classes=("A", "B", "C", "D"), settings=TrainSettings()
    )
    print(f"train: {args.cases} cases, dim {args.dim}: {time.perf_counter() - start:.1f} s")

    rng = np.random.default_rng(0)
    base = embeddings[model.split["test"][0]]
    tiles = rng.normal(size=(args.tiles, args.dim)).astype(np.float32)
    weights = np.full(args.tiles, 1.0 / args.tiles)
    group = np.arange(args.tiles) % 3
    wsi = PooledParts(
        tiles,
        weights,
        tuple(f"slide{g}.svs" for g in group),
        coords=rng.integers(0, 50_000, (args.tiles, 2)),
        group=group,
    )
    parts = {**base.parts, Modality.WSI: wsi}
    vectors = {**base.vectors, Modality.WSI: wsi.vector.astype(np.float32)}
    case = CaseEmbedding("bench", vectors, base.encoders, parts)

    for label, without in (
        ("all modalities", frozenset()),
        ("without pathology", frozenset({Modality.WSI})),
    ):
        model.predict(case, without=without)  # first call fills the per-case tile cache
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            prediction = model.predict(case, without=without)
            times.append(time.perf_counter() - t)
        print(
            f"predict ({label}, {args.tiles} tiles, {len(prediction.ablation)} ablation rows): "
            f"median {1000 * np.median(times):.2f} ms, max {1000 * np.max(times):.2f} ms"
        )
    cold = []
    for i in range(5):
        fresh = CaseEmbedding(f"cold{i}", vectors, base.encoders, dict(parts))
        t = time.perf_counter()
        model.predict(fresh)
        cold.append(time.perf_counter() - t)
    print(
        f"predict, first call for a case (tile explanation computed): {1000 * np.median(cold):.1f} ms"
    )


if __name__ == "__main__":
    main()
