import sys

from bot.memtrace import trace_from_environment

trace_from_environment()  # only with PRICEALERT_TRACEMALLOC set (benchmarks/memory.py)

from bot.cli import main  # noqa: E402  (after tracing starts, so imports are traced too)

sys.exit(main())
