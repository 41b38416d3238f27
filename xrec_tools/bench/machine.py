"""What the figures were measured on, and how busy the machine was."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import psutil

CPUINFO = Path("/proc/cpuinfo")


def cpu_model() -> str:
    if CPUINFO.exists():
        for line in CPUINFO.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """Cores, RAM, CPU model, Python, OS, and the load average now."""
    return {
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
    }
