"""Time discovering, linking and planning a generated repository of 1,000 images.

The repository is written to a temporary folder: 10 spec-built bases, then
Dockerfiles in levels, each built on a random earlier image (seed 1), with
a hardbase.yaml that names the registry prefix. Timed separately: building
the graph from the files (discovery, Dockerfile parsing, linking, levels)
and planning a rebuild of every image below the first base.

Usage: .venv/bin/python benchmarks/bench_plan.py [--images N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from hardbase.rebuild.config import load_config
from hardbase.rebuild.graph import build_graph
from hardbase.rebuild.plan import make_plan

REGISTRY = "registry.example.org/fleet"
BASES = 10


def write_repository(root: Path, count: int, seed: int = 1) -> None:
    """Write ``count`` images: ``BASES`` specs, the rest Dockerfiles on earlier images."""
    chooser = random.Random(seed)
    (root / "hardbase.yaml").write_text(f"registry: {REGISTRY}\n")
    names: list[str] = []
    for index in range(count):
        name = f"image-{index:04d}"
        folder = root / name
        folder.mkdir()
        if index < BASES:
            (folder / "spec.yaml").write_text(
                f"name: {name}\ndistribution:\n  suite: bookworm\npackages:\n  - dash\n"
            )
        else:
            parent = chooser.choice(names)
            (folder / "Dockerfile").write_text(
                f"ARG TAG=latest\nFROM {REGISTRY}/{parent}:${{TAG}}\nRUN echo {name} > /name\n"
            )
        names.append(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hardbase-bench-plan-") as folder:
        root = Path(folder)
        write_repository(root, arguments.images)
        graph_times, plan_times = [], []
        for _ in range(arguments.repeat):
            started = time.perf_counter()
            graph = build_graph(root, load_config(root))
            graph_times.append(time.perf_counter() - started)

            started = time.perf_counter()
            stale = {"image-0000"} | graph.descendants(["image-0000"])
            plan = make_plan(graph, stale)
            plan_times.append(time.perf_counter() - started)

        print(f"images: {len(graph.nodes)}, levels: {len(graph.levels)}")
        print(f"planned: {len(plan.steps)} images in {len(plan.levels)} levels")
        print(f"graph from files: best {min(graph_times):.3f} s, worst {max(graph_times):.3f} s")
        print(f"plan: best {min(plan_times) * 1000:.1f} ms, worst {max(plan_times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
