"""CoRe-BT-Fusion: the paper's model (equation 2), training, calibration and metrics.

Modules
-------
model        the torch module of equation 2 and the two meanings of "ablated"
standardise  per-modality standardisation with training-set statistics
train        probes, then gated fusion with modality dropout; seeded splits
calibration  temperature scaling
explain      exact per-tile / per-sequence decomposition of the probe terms
predictor    FusionPredictor: one case (CasePrediction) or many (arrays)
metrics      macro metrics of section 6 with bootstrap intervals
evaluate     tables in the layout of the paper's Tables 2-3, cross-validation
io           safetensors + JSON (no pickle)
synthetic    generated embeddings with a known signal (tests, benchmarks)

Heavy libraries (torch, scikit-learn, matplotlib) are imported inside functions or in
``model``, which only the functions that need it import.
"""
