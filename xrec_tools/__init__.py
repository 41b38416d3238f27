"""Tooling around the product (not part of the daily job): the sample generator, synthetic ML
marts, the outcome simulator, the benchmark and generated configuration."""
