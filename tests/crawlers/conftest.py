from __future__ import annotations

import pytest

from core.config import reload_settings


@pytest.fixture
def omni_env(monkeypatch):
    """Set OMNI_* variables for the add-on to read (the settings object is reloaded)."""

    def setenv(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reload_settings()

    yield setenv
    monkeypatch.undo()
    reload_settings()
