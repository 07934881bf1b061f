"""Run every benchmark (`make bench`) or the ones named: `python -m benchmarks.run cache mixer`.

Each `benchmarks/bench_<topic>.py` has a `main()` that measures its figures and a baseline
in the same run and prints a markdown table. Figures depend on the machine: the README's
table records the ones measured on the project's 2-core reference machine.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def discover() -> list[str]:
    return sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    topics = argv or discover()
    unknown = sorted(set(topics) - set(discover()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(discover())}")
        return 2
    for topic in topics:
        print(f"\n## {topic}\n")
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{topic}").main()
        print(f"\n({topic}: {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
