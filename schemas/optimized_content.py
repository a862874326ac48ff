"""The result of optimising one page (what the chat model must return, and what the offline
optimiser produces): a pydantic model and the strict JSON schema sent as `response_format`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

SCHEMA_NAME = "optimized_content"
META_TITLE_MAX = 60
META_DESCRIPTION_MAX = 155


class OptimizedContent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    summary: str
    content: str
    key_points: list[str]
    topics: list[str]
    meta_title: str
    meta_description: str
    keywords: list[str]

    @field_validator("title", "summary", "content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("key_points", "topics", "keywords")
    @classmethod
    def _clean_list(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for item in value:
            item = " ".join(item.split())
            if item and item.lower() not in seen:
                seen[item.lower()] = item
        return list(seen.values())


def json_schema() -> dict[str, Any]:
    """The strict-mode JSON schema: every property required, no extra properties, and only
    keywords structured outputs accept (pydantic's 'title' annotations are dropped)."""
    schema = OptimizedContent.model_json_schema()
    properties = {}
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        if prop.get("type") == "array":
            prop["items"] = {"type": "string"}
        properties[name] = prop
    _describe(properties)
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _describe(properties: dict[str, Any]) -> None:
    descriptions = {
        "title": "A clear, specific page title.",
        "summary": "Two or three sentences summarising the page for a customer-service assistant.",
        "content": "The page's content rewritten as clean, well-structured plain text (keep every "
        "fact).",
        "key_points": "3-7 short factual key points.",
        "topics": "1-5 topics the page covers.",
        "meta_title": f"SEO title, at most {META_TITLE_MAX} characters.",
        "meta_description": f"SEO meta description, at most {META_DESCRIPTION_MAX} characters.",
        "keywords": "5-10 search keywords or phrases, most important first.",
    }
    for name, text in descriptions.items():
        properties[name]["description"] = text


def response_format() -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": json_schema()},
    }
