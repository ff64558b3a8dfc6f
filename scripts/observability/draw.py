"""Draw a Grafana dashboard's panels, in their grid positions, from Prometheus query results.

Not Grafana: a picture of what the dashboard JSON asks for, so docs/observability.md can show
readers what they get. Time series panels are drawn as lines with their legends, stat
panels as one big number; a panel whose queries returned nothing says "No data", as
Grafana does.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

# Grafana's dark theme and its classic palette.
BACKGROUND = "#111217"
PANEL = "#181b1f"
BORDER = "#2c3235"
TEXT = "#ccccdc"
MUTED = "#8e8e8e"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a"]
THRESHOLD_COLORS = {"green": "#73bf69", "orange": "#ff9830", "red": "#f2495c"}
UNIT_WIDTH = 0.62  # inches per grid column (24 columns)
UNIT_HEIGHT = 0.3  # inches per grid row (Grafana: 30 px)


def format_value(value: float, unit: str) -> str:
    """A number as Grafana would print it for the panel's unit."""
    if value is None or math.isnan(value):
        return "NaN"
    if unit == "bytes":
        for suffix in ("B", "KiB", "MiB", "GiB", "TiB"):
            if abs(value) < 1024 or suffix == "TiB":
                return f"{value:.3g} {suffix}"
            value /= 1024
    if unit == "Bps":
        for suffix in ("B/s", "kB/s", "MB/s", "GB/s"):
            if abs(value) < 1000 or suffix == "GB/s":
                return f"{value:.3g} {suffix}"
            value /= 1000
    if unit == "percentunit":
        return f"{value * 100:.3g}%"
    if unit == "s":
        return f"{value * 1000:.3g} ms" if abs(value) < 1 else f"{value:.3g} s"
    suffix = {"cps": " c/s", "ops": " ops/s", "reqps": " req/s"}.get(unit, "")
    if abs(value) >= 1000:
        return f"{value / 1000:.3g}K{suffix}"
    return f"{value:.3g}{suffix}"


def _threshold_color(panel: dict[str, Any], value: float) -> str:
    steps = (panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds") or {}).get(
        "steps"
    ) or []
    color = THRESHOLD_COLORS["green"]
    for step in steps:
        if step.get("value") is None or value >= step["value"]:
            color = THRESHOLD_COLORS.get(step["color"], step["color"])
    return color


def _title(axes: Any, title: str) -> None:
    """The panel title inside the panel's top-left corner, as Grafana draws it."""
    axes.text(
        0.012, 0.96, title, color=TEXT, fontsize=9, ha="left", va="top", transform=axes.transAxes
    )


def _with_gaps(values: list, end: float, step: float = 5.0) -> tuple[list[float], list[float]]:
    """Minutes before end and values, with NaN where the series has no point (a line break)."""
    xs: list[float] = []
    ys: list[float] = []
    last = None
    for t, v in values:
        t = float(t)
        if last is not None and t - last > 2 * step:
            xs.append((last + step - end) / 60)
            ys.append(math.nan)
        xs.append((t - end) / 60)
        ys.append(float(v))
        last = t
    return xs, ys


def _legend(template: str, labels: dict[str, str], expr: str) -> str:
    if template in ("", "__auto"):
        return ", ".join(f"{k}={v}" for k, v in labels.items()) or expr[:40]
    out = template
    for key, value in labels.items():
        out = out.replace("{{" + key + "}}", value)
    # Grafana drops placeholders for labels a series does not have.
    while "{{" in out and "}}" in out:
        start = out.index("{{")
        out = out[:start] + out[out.index("}}", start) + 2 :]
    return " ".join(out.split())


def draw(
    board: dict[str, Any], results: dict[str, list[dict]], start: float, end: float, path: str
) -> None:
    """Draw board to path (PNG). results: "<panel id>/<refId>" -> Prometheus result list."""
    panels = board["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    width, height = 24 * UNIT_WIDTH, (rows + 2) * UNIT_HEIGHT
    fig = plt.figure(figsize=(width, height), facecolor=BACKGROUND)
    fig.text(
        0.01,
        1 - 0.9 * UNIT_HEIGHT / height,
        board["title"],
        color=TEXT,
        fontsize=14,
        weight="bold",
        va="center",
    )
    top = 2 * UNIT_HEIGHT / height

    def box(pos: dict[str, int], pad: float = 0.004) -> list[float]:
        x = pos["x"] / 24 + pad
        w = pos["w"] / 24 - 2 * pad
        y = 1 - top - (pos["y"] + pos["h"]) * UNIT_HEIGHT / height + pad
        h = pos["h"] * UNIT_HEIGHT / height - 2 * pad
        return [x, y, w, h]

    for panel in panels:
        pos = panel["gridPos"]
        if panel["type"] == "row":
            x, y, _, h = box(pos, pad=0)
            fig.text(x + 0.004, y + h / 2, panel["title"], color=TEXT, fontsize=11, va="center")
            continue
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
        frame = fig.add_axes(box(pos))
        frame.set_facecolor(PANEL)
        for spine in frame.spines.values():
            spine.set_color(BORDER)
        frame.set_xticks([])
        frame.set_yticks([])
        _title(frame, panel["title"])
        series = []
        for target in panel["targets"]:
            for item in results.get(f"{panel['id']}/{target['refId']}", []):
                series.append((target, item))
        if not series:
            frame.text(0.5, 0.45, "No data", color=MUTED, fontsize=11, ha="center", va="center")
            continue
        if panel["type"] == "stat":
            value = sum(float(item["value"][1]) for _, item in series)
            frame.text(
                0.5,
                0.42,
                format_value(value, unit),
                color=_threshold_color(panel, value),
                fontsize=20,
                ha="center",
                va="center",
                weight="bold",
            )
            continue
        frame.remove()
        x, y, w, h = box(pos)
        legend_rows = min(len(series), 4)
        # Leave room inside the panel for the title, the x axis and the legend.
        plot = fig.add_axes(
            [
                x + 0.035,
                y + h * (0.12 + 0.07 * legend_rows),
                w - 0.045,
                h * (0.72 - 0.07 * legend_rows),
            ]
        )
        background = fig.add_axes([x, y, w, h], zorder=-1)
        background.set_facecolor(PANEL)
        background.set_xticks([])
        background.set_yticks([])
        for spine in background.spines.values():
            spine.set_color(BORDER)
        _title(background, panel["title"])
        plot.set_facecolor(PANEL)
        for spine in plot.spines.values():
            spine.set_visible(False)
        plot.tick_params(colors=MUTED, labelsize=7, length=0)
        plot.grid(color=BORDER, linewidth=0.5)
        handles = []
        for i, (target, item) in enumerate(series):
            xs, ys = _with_gaps(item["values"], end)
            if all(math.isnan(v) for v in ys):
                continue
            (line,) = plot.plot(xs, ys, color=PALETTE[i % len(PALETTE)], linewidth=1.2)
            handles.append((line, _legend(target.get("legendFormat", ""), item["metric"], "")))
        plot.set_xlim((start - end) / 60, 0)
        plot.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}m"))
        plot.yaxis.set_major_formatter(FuncFormatter(lambda v, _, unit=unit: format_value(v, unit)))
        plot.yaxis.set_major_locator(plt.MaxNLocator(4))
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        low = defaults.get("min")
        high = defaults.get("max")
        if low is not None or high is not None:
            plot.set_ylim(bottom=low, top=high)
        else:
            plot.set_ylim(bottom=0)
        if handles:
            plot.legend(
                [h for h, _ in handles],
                [label for _, label in handles],
                loc="upper left",
                bbox_to_anchor=(0, -0.12),
                ncol=max(1, math.ceil(len(handles) / 4)),
                fontsize=6.5,
                frameon=False,
                labelcolor=TEXT,
                handlelength=1.2,
            )
    fig.savefig(path, facecolor=BACKGROUND, dpi=70, pil_kwargs={"optimize": True})
    plt.close(fig)
