"""Fixtures for the decoder tests (helpers live in ``decode_synthetic.py``)."""

import pytest
from decode_synthetic import fly_skeleton as _fly_skeleton


@pytest.fixture
def fly_skeleton():
    return _fly_skeleton()
