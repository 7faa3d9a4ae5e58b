"""Packages the repository's top-level folders under one import namespace, ``gaai``.

The folders stay at the root (``bus/``, ``agents/``…), where the design puts them, but the wheel installs
them as ``gaai.bus``, ``gaai.agents``…, so generic names such as ``agents`` never collide with another
distribution in site-packages. Editable installs map the same names onto the folders.
"""

from setuptools import find_packages, setup

LAYERS = ("telemetry", "bus", "store", "orchestrator", "agents", "web", "bench", "eval")

setup(
    packages=[
        *find_packages(include=["graph_analytics_ai", "graph_analytics_ai.*"]),
        *(
            f"gaai.{package}"
            for package in find_packages(include=[name for layer in LAYERS for name in (layer, f"{layer}.*")])
        ),
    ],
    package_dir={f"gaai.{layer}": layer for layer in LAYERS},
)
