"""CoRe-BT-Fusion: the paper's model (equation 2), training, calibration and metrics."""
