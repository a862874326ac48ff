"""core.endpoints finds the services and never starts one (that is the interface layer's job)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import endpoints
from core.config import Settings, reload_settings
from db.connection import connect


def _settings(data_dir: Path, **urls: str | None) -> Settings:
    return Settings(
        OMNI_DATA_DIR=data_dir, DATABASE_URL=urls.get("database"), REDIS_URL=urls.get("redis")
    )


def test_configured_urls_win(tmp_path: Path) -> None:
    settings = _settings(tmp_path, database="postgresql://db.example/x", redis="redis://r:6379/0")
    assert endpoints.database_url(settings) == "postgresql://db.example/x"
    assert endpoints.redis_url(settings) == "redis://r:6379/0"


@pytest.mark.parametrize("lookup", [endpoints.database_url, endpoints.redis_url])
def test_a_stopped_embedded_service_is_an_error_not_a_start(tmp_path: Path, lookup) -> None:
    with pytest.raises(endpoints.ServiceError, match="not running .*omni services up"):
        lookup(_settings(tmp_path))
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing started


def test_db_connect_does_not_start_the_embedded_server(tmp_path: Path, monkeypatch) -> None:

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("OMNI_DATA_DIR", str(tmp_path))
    reload_settings()
    try:
        with pytest.raises(endpoints.ServiceError):
            connect()
        assert not (tmp_path / "postgres").exists()
    finally:
        monkeypatch.undo()
        reload_settings()


@pytest.mark.parametrize(
    "files,expected",
    [
        ({"port": "5433"}, "postgresql://postgres@127.0.0.1:5433/omni"),
        (
            {"port": "5433", "password": "s3cret\n"},
            "postgresql://postgres:s3cret@127.0.0.1:5433/omni",
        ),
        ({"password": "s3cret"}, None),
        ({"port": "x"}, None),
    ],
)
def test_embedded_postgres_url(tmp_path: Path, files: dict[str, str], expected) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert endpoints.embedded_postgres_url(tmp_path) == expected


@pytest.mark.parametrize(
    "files,expected",
    [
        ({"port": "6380"}, "redis://127.0.0.1:6380/0"),
        ({"port": "6380", "password": "pw"}, "redis://:pw@127.0.0.1:6380/0"),
        ({}, None),
    ],
)
def test_embedded_redis_url(tmp_path: Path, files: dict[str, str], expected) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert endpoints.embedded_redis_url(tmp_path) == expected
