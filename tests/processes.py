"""What tests about processes ask of Linux's /proc."""

from __future__ import annotations

from pathlib import Path


def process_alive(pid: int) -> bool:
    """Running: neither gone nor a zombie waiting for its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
