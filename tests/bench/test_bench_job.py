"""What the daily-job harness counts: the fit probe's interactions x epochs."""
from xrec.bench.job import PROBES
from xrec.config import Settings


def test_fit_probe_counts_the_epochs_each_fit_runs():
    (fit,) = [probe for probe in PROBES if probe.part == "fit"]
    settings = Settings.from_env({"XREC_EPOCHS": "10"})
    rows = [object()] * 300
    assert fit.units((settings, None, rows), {}) == 3000  # the evaluation fit: settings.epochs
    assert fit.units((settings, None, rows), {"warm_start": None, "epochs": 2}) == 600  # the refit
    assert fit.units((settings, None), {"interactions": rows, "epochs": 0}) == 0
