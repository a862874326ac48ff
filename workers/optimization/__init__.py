"""AI optimisation of a page's content for `ai_optimized_content` (see docs/extraction.md)."""

from __future__ import annotations

from core.config import Settings
from workers.optimization import offline
from workers.optimization.base import Optimization, PageInput

PROCESSING_VERSION = "omni-optimize-1"


def optimizer_name(settings: Settings) -> str:
    """'openai' or 'offline' (OMNI_OPTIMIZER=auto picks openai when an endpoint is configured)."""
    if settings.optimizer == "auto":
        return "openai" if settings.openai_configured else "offline"
    return settings.optimizer


def optimize(page: PageInput, settings: Settings) -> Optimization:
    if optimizer_name(settings) == "openai":
        # the openai client: only when used
        from workers.optimization import openai_optimizer  # noqa: PLC0415 - see the reason above

        return openai_optimizer.optimize(page, settings)
    return offline.optimize(page)


__all__ = ["PROCESSING_VERSION", "Optimization", "PageInput", "optimize", "optimizer_name"]
