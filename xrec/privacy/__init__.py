"""Privacy by construction (ARCHITECTURE.md point 15): pseudonym keys, erasure, retention."""
