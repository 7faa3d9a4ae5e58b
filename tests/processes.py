"""What tests about processes ask of Linux's /proc."""

from __future__ import annotations

from pathlib import Path


def process_alive(pid: int) -> bool:
    """Running: neither gone nor a zombie waiting for its reaper."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def processes_in_session(session_id: int) -> list[int]:
    """The running processes of a session, e.g. everything a command started with ``start_new_session`` left behind."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[0] != "Z" and int(fields[3]) == session_id:
                found.append(int(entry.name))
    return found


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name: state, ppid, process group, session, …; None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
