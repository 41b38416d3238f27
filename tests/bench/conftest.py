import pytest


@pytest.fixture
def machine() -> dict:
    """A benchmark document's machine block (xrec_tools.bench.machine), as the renderers read it."""
    return {
        "cpu_model": "AMD EPYC",
        "logical_cores": 2,
        "ram_gb": 23.4,
        "python": "3.11.7",
        "platform": "Linux",
        "load_average_start": [1, 1, 1],
        "load_average_end": [2, 2, 2],
    }
