"""Fixtures shared by the integration tests of the operate views."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RealCluster
from tests.integration.operate_kit import Kube


@pytest.fixture(scope="module")
def kube(cluster: RealCluster) -> Iterator[Kube]:
    """The admin's API client, to arrange objects and check what a write did."""
    k = Kube(cluster)
    yield k
    k.close()
