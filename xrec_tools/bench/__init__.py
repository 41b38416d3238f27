"""`xrec bench`: time the daily job (the same xrec.daily steps the DAG runs) on generated data
of fixed sizes, beside bare LightFM/numpy references and the model's quality."""

from xrec_tools.bench.runner import DEFAULT_OUT_DIR, BenchmarkFailed, rerun_serving, run_benchmark
from xrec_tools.bench.sizes import SIZES, BenchSize, parse_sizes

__all__ = ["DEFAULT_OUT_DIR", "SIZES", "BenchSize", "BenchmarkFailed", "parse_sizes", "rerun_serving", "run_benchmark"]
