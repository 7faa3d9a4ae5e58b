"""tools/containers/runtime_root.py, run on a throwaway virtualenv as the Dockerfile runs it on the image's.

The root it lays out must run Python on its own: checked by running the interpreter in it with ``chroot`` (as
root, which CI is; said and skipped otherwise). The distribution it sets aside must leave the root whole and, laid
back on it, import again, as the engine image's numba and scipy do.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "containers" / "runtime_root.py"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


def install_tiny_distribution(environment: Path) -> None:
    """A distribution as an installer leaves it: a package, a script, and a dist-info whose RECORD lists both."""
    site_packages = Path(
        subprocess.run(
            [environment / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    package = site_packages / "tinypkg"
    package.mkdir()
    (package / "__init__.py").write_text("ANSWER = 42\n")
    script = environment / "bin" / "tinytool"
    script.write_text("#!/bin/false\n")
    info = site_packages / "tinypkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n")
    record = ["tinypkg/__init__.py,,", "../../../bin/tinytool,,", "tinypkg-1.0.dist-info/METADATA,,"]
    (info / "RECORD").write_text("\n".join([*record, "tinypkg-1.0.dist-info/RECORD,,"]) + "\n")
    # A file no RECORD lists, in the package's folder (as the Dockerfile's pruning or a compiler leaves them).
    (package / "generated.dat").write_text("x")


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(the virtualenv, the root, the set-aside folder), after one run of the script."""
    work = tmp_path_factory.mktemp("runtime-root")
    environment = work / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(environment)  # as `python -m venv` makes it
    install_tiny_distribution(environment)
    root, aside = work / "root", work / "aside"
    done = subprocess.run(
        [
            environment / "bin" / "python", SCRIPT, root, "--user", "gaai:10001",
            "--writable", "/var/lib/gaai", "--aside", f"{aside}=tinypkg",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "MB in" in done.stdout
    return environment, root, aside


def inside(root: Path, path: Path | str) -> Path:
    return root / Path(path).relative_to("/")


def test_the_root_holds_the_interpreter_the_virtualenv_and_the_users_files(laid_out):
    environment, root, _ = laid_out
    # The virtualenv's python is a link to the base interpreter, which is in the root at its own path.
    assert inside(root, environment / "bin" / "python").is_symlink()
    assert inside(root, Path(os.path.realpath(environment / "bin" / "python"))).is_file()
    assert (inside(root, environment) / "pyvenv.cfg").is_file()
    stdlib = inside(root, Path(os.__file__).parent)
    assert (stdlib / "json" / "__init__.py").is_file()
    assert not (stdlib / "test").exists() and not (stdlib / "idlelib").exists()
    passwd = (root / "etc" / "passwd").read_text().splitlines()
    assert passwd[1].startswith("gaai:x:10001:10001:") and "gaai:x:10001:" in (root / "etc" / "group").read_text()
    assert stat.S_IMODE((root / "tmp").stat().st_mode) == 0o1777
    assert (root / "var" / "lib" / "gaai").is_dir() and (root / "home" / "gaai").is_dir()
    if os.geteuid() == 0:
        assert (root / "var" / "lib" / "gaai").stat().st_uid == 10001


def test_a_set_aside_distribution_leaves_the_root_with_all_its_files(laid_out):
    environment, root, aside = laid_out
    site_packages = next(inside(root, environment).glob("lib/python3*/site-packages"))
    assert not (site_packages / "tinypkg").exists() and not list(site_packages.glob("tinypkg-*"))
    assert not (inside(root, environment) / "bin" / "tinytool").exists()
    moved = next(aside.glob("lib/python3*/site-packages"))
    assert (moved / "tinypkg" / "__init__.py").is_file() and (moved / "tinypkg" / "generated.dat").is_file()
    assert (moved / "tinypkg-1.0.dist-info" / "RECORD").is_file() and (aside / "bin" / "tinytool").is_file()
    # The rest of the virtualenv is the build's: its interpreter links and the standard scripts stay.
    assert (inside(root, environment) / "bin" / "python").is_symlink()


@pytest.mark.skipif(os.geteuid() != 0 or not Path(CHROOT).exists(), reason="chroot needs root")
def test_python_runs_in_the_root_alone_and_imports_what_is_laid_back_on_it(laid_out, tmp_path):
    environment, root, aside = laid_out
    python = str(environment / "bin" / "python")
    probe = "import json, ssl, sqlite3, hashlib, ctypes, lzma, bz2, uuid, asyncio, pwd; print(pwd.getpwuid(10001)[0])"
    ran = subprocess.run(
        [CHROOT, "--userspec=10001:10001", root, python, "-c", probe], capture_output=True, text=True, env={}
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "gaai"
    missing = subprocess.run([CHROOT, root, python, "-c", "import tinypkg"], capture_output=True, text=True, env={})
    assert "No module named 'tinypkg'" in missing.stderr
    whole = tmp_path / "whole"
    shutil.copytree(root, whole, symlinks=True)
    shutil.copytree(aside, inside(whole, environment), symlinks=True, dirs_exist_ok=True)
    laid_back = subprocess.run(
        [CHROOT, whole, python, "-c", "import tinypkg; print(tinypkg.ANSWER)"], capture_output=True, text=True, env={}
    )
    assert laid_back.stdout.strip() == "42", laid_back.stderr
    assert not (whole / "bin" / "sh").exists() and not (whole / "usr" / "bin" / "apt-get").exists()
