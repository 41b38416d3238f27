"""LightFM cross-recommendations: dataset -> train -> evaluate (vs popularity) -> gate -> score."""
