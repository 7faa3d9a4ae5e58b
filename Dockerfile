# syntax=docker/dockerfile:1
# One image for every gaai process: the orchestrator, each agent, the catalog and the
# `gaai` CLI. compose.yaml picks the process with `command:`; see docs/DEPLOY.md.
# The Python version is the one CI tests with (pyproject.toml allows >= 3.11).
ARG PYTHON_VERSION=3.11

# ---- build: install the project and its dependencies into a virtualenv
FROM python:${PYTHON_VERSION}-slim AS build
RUN python -m venv /opt/gaai
WORKDIR /src
COPY pyproject.toml setup.py README.md constraints.txt ./
COPY agents/ agents/
COPY bus/ bus/
COPY orchestrator/ orchestrator/
COPY telemetry/ telemetry/
COPY store/ store/
COPY graph_analytics_ai/ graph_analytics_ai/
COPY bench/ bench/
COPY eval/ eval/
RUN --mount=type=cache,target=/root/.cache/pip /opt/gaai/bin/pip install -c constraints.txt .

# ---- runtime: the virtualenv alone (no sources, no build tools), run by a non-root user
FROM python:${PYTHON_VERSION}-slim
RUN groupadd --system --gid 10001 gaai \
 && useradd --system --uid 10001 --gid gaai --create-home --home-dir /home/gaai gaai \
 && mkdir -p /var/lib/gaai /var/cache/gaai/numba \
 && chown gaai:gaai /var/lib/gaai /var/cache/gaai/numba
COPY --from=build /opt/gaai /opt/gaai
# GAAI_HOME holds the embedded graph store and the catalog; compose mounts one shared
# volume there (a named volume starts with this folder's owner, so the user can write it).
# NUMBA_CACHE_DIR holds the execution engine's compiled kernels. numba uses it only if
# the process can create files in it (else it falls back to ~/.cache/numba), so the
# user owns it.
ENV PATH=/opt/gaai/bin:$PATH \
    GAAI_HOME=/var/lib/gaai \
    NUMBA_CACHE_DIR=/var/cache/gaai/numba
USER gaai
# Compile the kernels now, as the user and at the paths the containers have (numba files
# its cache by the engine's installed folder and checks the source, numba's version and
# the CPU), so an execution agent starting in a fresh container loads them instead of
# compiling them for 7.6 s. The code is for the build machine's CPU: on a host with
# another CPU the agent compiles at start, as it did before this step.
RUN python -m gaai.agents.execution.precompile
WORKDIR /home/gaai
CMD ["gaai", "--help"]
