"""What a task's start imports: run a statement in a fresh interpreter, as a task process does,
and say which of some modules it loaded."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded(statement: str, *modules: str) -> dict[str, bool]:
    probe = f"{statement}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {list(modules)!r}}}))"
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.splitlines()[-1])
