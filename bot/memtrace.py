"""Memory tracing for the memory benchmark (benchmarks/memory.py), off unless asked for.

With `PRICEALERT_TRACEMALLOC=DIR` in the environment, `python -m bot` starts `tracemalloc`
(`PRICEALERT_TRACEMALLOC_FRAMES` frames per allocation, default 1) and, on each SIGUSR1, writes
a snapshot of what is allocated to `DIR/snapshot-N.pickle` (N = 1, 2, ...; written under another
name and renamed, so a reader never sees half a file). Tracing costs memory and time: never set
it in production.
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import tracemalloc
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

VARIABLE = "PRICEALERT_TRACEMALLOC"
FRAMES_VARIABLE = "PRICEALERT_TRACEMALLOC_FRAMES"


def trace_from_environment(environ: Mapping[str, str] = os.environ) -> bool:
    """Starts tracing when the environment asks for it; True if it did."""
    directory = environ.get(VARIABLE, "")
    if not directory:
        return False
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(int(environ.get(FRAMES_VARIABLE, "1")))
    numbers = itertools.count(1)

    def dump(signum: int, frame: FrameType | None) -> None:
        gc.collect()  # count what is still reachable, not what a collection would free
        snapshot = tracemalloc.take_snapshot()
        target = folder / f"snapshot-{next(numbers)}.pickle"
        partial = target.with_suffix(".partial")
        snapshot.dump(str(partial))
        partial.rename(target)

    signal.signal(signal.SIGUSR1, dump)
    return True
