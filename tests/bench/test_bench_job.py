"""What the daily-job harness counts: the fit probe's interactions x epochs."""
from ml.config import ModelConfig
from xrec.bench.job import PROBES


def test_fit_probe_counts_the_epochs_each_fit_runs():
    (fit,) = [probe for probe in PROBES if probe.part == "fit"]
    config = ModelConfig(epochs=10)
    rows = [object()] * 300
    assert fit.units((config, None, rows), {}) == 3000  # a whole fit: config.epochs
    assert fit.units((config, None, rows), {"model": None, "epochs": 2}) == 600  # a few epochs more
    assert fit.units((config, None, rows, 5), {}) == 1500
    assert fit.units((config, None), {"interactions": rows, "epochs": 0}) == 0
