"""Hypothesis strategies for hostile webhook bodies: arbitrary JSON, damaged samples, raw bytes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from flux_recon.providers import encode_json

# Values that have broken parsers before: numbers as text in every spelling, impossible
# dates, non-ASCII digits, absurd sizes.
TRICKY_STRINGS = (
    "",
    " ",
    "0",
    "-1",
    "0.001",
    "1e3",
    "1E+999999",
    "NaN",
    "Infinity",
    "99999999999999999999999999999999",
    "1,000.00",
    "\u0661\u0662\u0663",
    "\uff11\uff12",
    "2026-02-30T25:61:00Z",
    "2026-11-22",
    "17/11/2021 3:48:10 PM",
    "1795341903000",
    "null",
    "true",
    "INV-1001",
    "x" * 300,
)
TRICKY_NUMBERS = (0, -1, 1, 10**15, 10**15 + 1, 10**20, -(10**30), 10**200)
# What every field of every sample is replaced with, one at a time, before the random search.
SWEEP_VALUES = (
    None,
    True,
    0,
    -1,
    10**200,
    -(10**30),
    Decimal("1E+999999"),
    Decimal("-0.001"),
    "",
    "NaN",
    "1e3",
    "\u0661\u0662\u0663",
    "2026-02-30T25:61:00Z",
    "x" * 300,
    [],
    {},
)
_REMOVED = object()


def json_values() -> st.SearchStrategy:
    """Any JSON value, leaning on the edge cases above."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.sampled_from(TRICKY_NUMBERS)
        | st.decimals(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30)
        | st.sampled_from(TRICKY_STRINGS)
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
        max_leaves=12,
    )


def _slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in the document, outermost first."""
    found, stack = [], [document]
    while stack:
        container = stack.pop()
        keys = list(container) if isinstance(container, dict) else range(len(container))
        for key in keys:
            found.append((container, key))
            if isinstance(container[key], (dict, list)):
                stack.append(container[key])
    return found


def swept_samples(samples: list[Any]) -> Iterator[Any]:
    """Every sample with one field (at any depth) replaced by each of SWEEP_VALUES or removed."""
    for sample in samples:
        if not isinstance(sample, (dict, list)):
            continue
        for index in range(len(_slots(sample))):
            for value in (_REMOVED, *SWEEP_VALUES):
                document = copy.deepcopy(sample)
                container, key = _slots(document)[index]
                if value is _REMOVED:
                    if not isinstance(container, dict):
                        continue
                    del container[key]
                else:
                    container[key] = value
                yield document


@st.composite
def damaged_samples(draw, samples: list[Any], values: st.SearchStrategy) -> Any:
    """A sample with one to four fields replaced by arbitrary values or removed."""
    document = copy.deepcopy(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(document) if isinstance(document, (dict, list)) else []
        if not slots:
            break
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(values)
    return document


def bodies(samples: list[Any]) -> st.SearchStrategy[bytes]:
    """Request bodies: mostly damaged samples (they reach deep into a parser), some
    arbitrary JSON documents, some bytes that are not JSON at all."""
    values = json_values()
    if samples:
        damaged = damaged_samples(samples, values)
        documents = st.one_of(damaged, damaged, values)  # listed twice: drawn twice as often
    else:
        documents = values
    return st.one_of(documents.map(encode_json), st.binary(max_size=120))
