"""What an optimiser gets and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from schemas.optimized_content import OptimizedContent


@dataclass(frozen=True)
class PageInput:
    url: str
    title: str | None
    content: str
    headings: list[str] = field(default_factory=list)
    description: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Optimization:
    content: OptimizedContent
    model: str  # ai_model_used
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    requests: int = 0  # API calls made (0 offline)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
