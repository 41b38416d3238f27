"""The step layer: reads the warehouse, calls the `ml/` library with frames and a typed
configuration, writes the tables. xrec.daily (the DAG, CLI and bench) calls these."""
