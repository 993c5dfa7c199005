"""Shared fixtures: the bundled knowledge base, loaded once per session."""

from __future__ import annotations

import pytest

from mgadvisor.kb import KnowledgeBase, load_knowledge

pytest_plugins = ["case_plugin"]


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()
