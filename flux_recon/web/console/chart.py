"""A stacked bar chart as plain SVG geometry for a template: no JavaScript, no inline styles (CSS classes colour it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Wide and low, so a desktop's full-width chart is not taller than the screen; at a phone's
# width the CSS enlarges the labels instead.
WIDTH, HEIGHT = 800, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 16, 40


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    baseline: float
    left: float
    right: float
    total: int


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... at least ``value``: an axis top people read easily."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked_bars(days: list[dt.date], counts: list[dict[str, int]], series: tuple[str, ...]) -> StackedBars:
    """One bar per day, ``series`` stacked bottom to top in the order given."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    totals = [sum(day.get(name, 0) for name in series) for day in counts]
    top = _nice_ceiling(max(totals, default=0) or 1)
    slot = plot_width / max(len(days), 1)
    bars = []
    for index, (day, day_counts) in enumerate(zip(days, counts, strict=True)):
        y = baseline
        for name in series:
            count = day_counts.get(name, 0)
            if not count:
                continue
            height = plot_height * count / top
            y -= height
            label = f"{day.isoformat()}: {count} {name.replace('_', ' ')}"
            bars.append(Bar(round(LEFT + index * slot + slot * 0.15, 2), round(y, 2), round(slot * 0.7, 2),
                            round(height, 2), name, label))  # fmt: skip
    # A date under the first bar of each week and under the last day, none crowding another.
    shown = [i for i in range(0, len(days), 7) if i < len(days) - 4] + ([len(days) - 1] if days else [])
    x_ticks = [Tick(round(LEFT + i * slot + slot / 2, 2), days[i].strftime("%d %b")) for i in shown]
    if x_ticks:  # the last label ends at its bar, not past the chart's edge
        x_ticks[-1] = Tick(round(LEFT + (shown[-1] + 1) * slot, 2), x_ticks[-1].label, "end")
    y_ticks = [Tick(round(baseline - plot_height * value / top, 2), str(value)) for value in sorted({0, top // 2, top})]
    return StackedBars(WIDTH, HEIGHT, bars, x_ticks, y_ticks, baseline, LEFT, WIDTH - RIGHT, sum(totals))
