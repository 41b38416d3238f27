"""Sample extract generator: deterministic landing drops per shared/CONTRACT.md, with planted
structure (latent topics, identity overlap) and planted dirt, described by a manifest."""

from xrec_tools.sample.generator import generate

__all__ = ["generate"]
