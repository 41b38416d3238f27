"""LightFM cross-recommendations as a library: config -> dataset -> select -> train -> evaluate
(vs popularity) -> gate -> score. Frames and typed configurations in, frames/arrays/models out;
storage lives in xrec.steps."""
