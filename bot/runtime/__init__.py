"""Which role this process plays (working or standby), and how it meets the world: polling or
webhook, /healthz and /metrics. The only package that knows there may be replicas."""

from __future__ import annotations

from bot.runtime.process import migrate, run

__all__ = ["migrate", "run"]
