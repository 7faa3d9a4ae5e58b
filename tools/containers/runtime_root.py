"""Run by the Dockerfile's build stage: lays out the runtime image's whole filesystem in one folder.

The runtime stage is ``FROM scratch`` plus this folder: the Python interpreter and its standard library, the
virtualenv, the shared libraries those load (what ``ldd`` resolves for every ELF file among them), the CA bundle,
and an ``/etc/passwd`` naming the user the processes run as. Each file keeps the path it has in the build stage,
and every symlink on the way to it is kept as a symlink (``/lib`` → ``usr/lib`` on Debian), so the interpreter,
the virtualenv's ``pyvenv.cfg`` and the libraries' own search paths find everything where they look. The base
image's shell, package manager and other programs are not there: no gaai process runs them (compose's
healthchecks and commands are exec form).

``--aside FOLDER=DIST,DIST…`` (repeatable) moves the files of those installed distributions out of the virtualenv
into FOLDER instead, at the same paths below it as below the virtualenv: the Dockerfile lays each such folder on
the root in an image of its own (the engine's numba and scipy, the other processes' document readers), so the
images share the root's layer.

    python runtime_root.py ROOT --user gaai:10001 --writable /var/lib/gaai [--aside /engine=numba,llvmlite,scipy]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
from functools import partial
from importlib import metadata
from pathlib import Path

STDLIB_LEFT_OUT = {
    "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data", "site-packages",
    "dist-packages", "__phello__",
}  # fmt: skip
"""Parts of the standard library no gaai process imports: test suites, GUIs, installers, 2to3. Also the build
configuration (``config-*``, below), which only compiling an extension reads."""
DYNLOAD_LEFT_OUT = ("_tkinter", "_curses", "readline", "_gdbm", "_dbm", "nis", "_crypt", "ossaudiodev", "spwd")
"""Extension modules of the standard library for terminals, old databases, NIS, crypt(3) and sound devices, and the
libraries they need (NIS alone brings Kerberos)."""


def is_elf(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


def linked_libraries(path: Path) -> set[Path]:
    """The shared libraries ``ldd`` resolves for ``path`` (the dynamic loader included); none for a static file."""
    done = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
    found = set()
    for line in done.stdout.splitlines():
        words = line.split()
        if "=>" in words and words[words.index("=>") + 1].startswith("/"):
            found.add(Path(words[words.index("=>") + 1]))
        elif words and words[0].startswith("/"):
            found.add(Path(words[0]))
        elif "not found" in line and not (path.parent / words[0]).exists():
            # Not a library vendored beside it (the loader finds those by name once loaded), so the build stage
            # could not load it either: the image check after this names what matters.
            print(f"runtime_root: {path}: {line.strip()}", file=sys.stderr)
    return found


class Root:
    """The folder being filled, and the files placed in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def inside(self, path: Path) -> Path:
        return self.folder / path.relative_to("/")

    def place(self, path: Path) -> None:
        """Copy ``path`` to the same place in the root, recreating each symlink met on the way there."""
        path = Path(os.path.normpath(path))
        walked = Path("/")
        for part in path.parts[1:]:
            walked /= part
            if walked.is_symlink():
                link = self.inside(walked)
                if not link.is_symlink():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(os.readlink(walked))
                # The link's target, and the rest of the path below it, must be there too.
                self.place(walked.parent / os.readlink(walked) / path.relative_to(walked))
                return
        copy = self.inside(path)
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
        elif not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)

    def tree(self, folder: Path, ignore) -> None:
        """Copy a real folder whole (symlinks as symlinks), then place what its symlinks point to outside it."""
        shutil.copytree(folder, self.inside(folder), symlinks=True, ignore=ignore, dirs_exist_ok=True)
        for link in self.inside(folder).rglob("*"):
            if link.is_symlink():
                original = Path("/") / link.relative_to(self.folder)
                self.place(original.parent / os.readlink(link))

    def elf_files(self) -> list[Path]:
        """The ELF files in the root, by the paths they have in the build stage."""
        return [
            Path("/") / path.relative_to(self.folder)
            for path in self.folder.rglob("*")
            if path.is_file() and not path.is_symlink() and is_elf(path)
        ]


def standard_library_ignore(folder: str, names: list[str]) -> set[str]:
    left_out = {name for name in names if name in STDLIB_LEFT_OUT or name.startswith("config-")}
    if Path(folder).name == "lib-dynload":
        left_out |= {name for name in names if name.startswith(DYNLOAD_LEFT_OUT)}
    return left_out


def set_aside(venv: Path, folder: Path, names: list[str]) -> None:
    """Move every file of each named distribution from the virtualenv to the same path below ``folder``: those its
    RECORD lists, and the rest of each folder of site-packages no other distribution has files in (what the
    Dockerfile's pruning or a compiler left there)."""
    owners: dict[Path, set[str]] = {}
    for found in metadata.distributions():
        for path in installed_files(found):
            if path.is_relative_to(venv):
                owners.setdefault(venv_top(venv, path), set()).add(canonical(found.metadata["Name"]))
    wanted = {canonical(name) for name in names}
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for name in names:
        try:
            found = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"runtime_root: --aside {name}: not installed") from None
        files = [path for path in installed_files(found) if path.is_relative_to(venv)]
        tops = {
            top
            for top in map(partial(venv_top, venv), files)
            if top.is_dir() and top.parent == site_packages and owners[top] <= wanted
        }
        for path in [*files, *(file for top in tops for file in top.rglob("*"))]:
            if path.is_file() or path.is_symlink():
                target = folder / path.relative_to(venv)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
        for top in tops:
            shutil.rmtree(top, ignore_errors=True)  # left with empty folders only


def installed_files(distribution: metadata.Distribution) -> list[Path]:
    return [Path(os.path.normpath(distribution.locate_file(entry))) for entry in distribution.files or []]


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def venv_top(venv: Path, path: Path) -> Path:
    """The entry of site-packages (or of the virtualenv, for a script) that ``path`` lies in."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    base = site_packages if path.is_relative_to(site_packages) else venv
    return base / path.relative_to(base).parts[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--user", required=True, help="NAME:ID, the user (and group) the processes run as")
    parser.add_argument("--writable", action="append", default=[], type=Path, help="a folder the user owns")
    parser.add_argument("--aside", action="append", default=[], help="FOLDER=DIST,DIST…: set those apart")
    args = parser.parse_args(argv)
    user, uid = args.user.split(":")
    venv = Path(sys.prefix)
    asides = [Path(folder) for folder, _ in (option.split("=", 1) for option in args.aside)]
    for option in args.aside:
        folder, names = option.split("=", 1)
        set_aside(venv, Path(folder), names.split(","))

    root = Root(args.root)
    root.place(Path(sys._base_executable))
    root.tree(Path(sysconfig.get_paths(vars={"base": sys.base_prefix})["stdlib"]), standard_library_ignore)
    root.tree(venv, None)
    libraries = {library for path in root.elf_files() for library in linked_libraries(path)}
    # What the set-aside files need from the system goes into the root (they are run on it); their own vendored
    # libraries travel with them.
    aside_elf = [path for folder in asides for path in folder.rglob("*") if path.is_file() and is_elf(path)]
    libraries |= {library for path in aside_elf for library in linked_libraries(path)}
    for library in sorted(libraries):
        if not library.is_relative_to(venv) and not any(library.is_relative_to(folder) for folder in asides):
            root.place(library)

    import ssl

    bundle = ssl.get_default_verify_paths().openssl_cafile
    if bundle and Path(bundle).exists():
        root.place(Path(bundle))

    etc = root.inside(Path("/etc"))
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(
        f"root:x:0:0:root:/root:/sbin/nologin\n{user}:x:{uid}:{uid}::/home/{user}:/sbin/nologin\n"
    )
    (etc / "group").write_text(f"root:x:0:\n{user}:x:{uid}:\n")
    temporary = root.inside(Path("/tmp"))
    temporary.mkdir(exist_ok=True)
    temporary.chmod(0o1777)
    for folder in [Path("/home") / user, *args.writable]:
        inside = root.inside(folder)
        inside.mkdir(parents=True, exist_ok=True)
        os.chown(inside, int(uid), int(uid))
    size = sum(path.lstat().st_size for path in args.root.rglob("*"))
    print(f"runtime_root: {size / 1e6:.0f} MB in {args.root}, {len(libraries)} shared libraries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
