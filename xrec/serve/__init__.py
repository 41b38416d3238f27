"""`xrec serve`: the read API over the published model (see xrec.serve.app)."""
