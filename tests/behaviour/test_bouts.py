"""Tests of mapose.behaviour.bouts (run finding and minimum-length filtering)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapose.behaviour.bouts import bouts_to_labels, find_bouts, min_bout_filter, run_lengths
from mapose.errors import ValidationError


def test_find_bouts_known_sequence():
    labels = np.array([2, 2, 2, -1, -1, 0, 1, 1, 0, 0])
    b = find_bouts(labels)
    assert list(b.columns) == ["label", "start", "stop", "length"]
    assert b.values.tolist() == [[2, 0, 3, 3], [0, 5, 6, 1], [1, 6, 8, 2], [0, 8, 10, 2]]
    # nothing ignored: the noise run appears
    b_all = find_bouts(labels, ignore=())
    assert b_all.values.tolist()[1] == [-1, 3, 5, 2]


def test_find_bouts_empty_and_binary():
    assert len(find_bouts(np.zeros(0, dtype=int))) == 0
    b = find_bouts(np.array([False, True, True, False]), ignore=(0,))
    assert b.values.tolist() == [[1, 1, 3, 2]]


def test_find_bouts_rejects_bad_input():
    with pytest.raises(ValidationError, match="1-D"):
        find_bouts(np.zeros((3, 2), dtype=int))
    with pytest.raises(ValidationError, match="integer"):
        find_bouts(np.array([0.5, 1.0]))


def test_min_bout_filter_neighbour_takes_longer_side():
    labels = np.array([0] * 5 + [1] + [2] * 3)
    out = min_bout_filter(labels, 2)
    assert out.tolist() == [0] * 6 + [2] * 3
    # a flicker inside one behaviour disappears
    labels = np.array([3] * 4 + [1, 1] + [3] * 4)
    assert min_bout_filter(labels, 3).tolist() == [3] * 10


def test_min_bout_filter_cascade_and_result_respects_minimum():
    labels = np.array([0] * 6 + [1, 2, 1, 2, 1] + [0] * 6)
    out = min_bout_filter(labels, 3)
    assert out.tolist() == [0] * 17


def test_min_bout_filter_fill_value():
    labels = np.array([0, 0, 0, 1, 2, 2, 2, -1, 0, 0, 0])
    out = min_bout_filter(labels, 2, fill=-1)
    assert out.tolist() == [0, 0, 0, -1, 2, 2, 2, -1, 0, 0, 0]
    with pytest.raises(ValidationError, match="fill"):
        min_bout_filter(labels, 2, fill="nearest")


def test_min_bout_filter_short_sequence_unchanged():
    labels = np.array([1, 2])
    assert min_bout_filter(labels, 5).tolist() == [1, 2]
    assert min_bout_filter(labels, 1).tolist() == [1, 2]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-1, 3), min_size=1, max_size=200), st.integers(1, 8))
def test_min_bout_filter_properties(seq, m):
    labels = np.array(seq)
    out = min_bout_filter(labels, m)
    assert out.shape == labels.shape
    # labels only come from the input; runs are at least m unless one run remains
    assert set(out.tolist()) <= set(seq)
    _, _, lengths = run_lengths(out)
    if len(labels) >= m:
        assert lengths.min() >= m or len(lengths) == 1
    # idempotent
    assert np.array_equal(min_bout_filter(out, m), out)
    # long bouts of the input survive exactly
    vals, starts, lens = run_lengths(labels)
    for v, s, n in zip(vals, starts, lens):
        if n >= 2 * m:  # well inside a long bout nothing changes
            assert np.all(out[s + m:s + n - m] == v)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1, 3), min_size=0, max_size=100))
def test_bouts_round_trip(seq):
    labels = np.array(seq, dtype=np.int64)
    b = find_bouts(labels)
    assert np.array_equal(bouts_to_labels(b, len(labels)), labels)
    assert int(b["length"].sum()) == int(np.sum(labels != -1))


def test_bouts_to_labels_errors():
    with pytest.raises(ValidationError, match="columns"):
        bouts_to_labels(pd.DataFrame({"label": [1]}), 4)
    with pytest.raises(ValidationError, match="outside"):
        bouts_to_labels(pd.DataFrame({"label": [1], "start": [2], "stop": [9]}), 4)


def test_min_bout_filter_long_sequence_fast():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 200_000)
    out = min_bout_filter(labels, 5)
    _, _, lengths = run_lengths(out)
    assert lengths.min() >= 5
