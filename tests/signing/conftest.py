"""The signing tests use the bidding tests' small world (one drug round in bidding)."""

from __future__ import annotations

import pytest

from tests.bidding.conftest import World, build_world


@pytest.fixture
def world(db: None) -> World:
    return build_world()
