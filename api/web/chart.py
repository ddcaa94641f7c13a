"""The dashboard's chart, drawn on the server as SVG: flagged entries per week, a bar per school
in each week, with a title for screen readers (the page also shows the figures as a table)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from contacts.oversight.summary import WeekOfFlags

# Distinguishable without colour vision, and at least 3:1 against white.
COLOURS = ("#0b5394", "#b45f06", "#38761d", "#741b47", "#134f5c", "#7f6000")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 240, 36, 28, 12


def weekly_bars(weeks: Sequence[WeekOfFlags], names: dict[int, str]) -> Markup:
    schools = sorted({w.school_id for w in weeks})
    days = sorted({w.week_of for w in weeks})
    if not schools or not days:
        return Markup("")
    most = max([w.flagged for w in weeks] + [1])
    slot = (WIDTH - LEFT) / len(days)
    bar = max(2.0, (slot - 6) / len(schools))
    plot = HEIGHT - BOTTOM - TOP
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Entries flagged for a concern per week, by school (figures in '
        "the table below)</title>",
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" '
        'stroke="#4a5560"/>',
        f'<text x="4" y="{TOP + 10}" font-size="12" fill="#1b1f23">{most}</text>',
        f'<text x="4" y="{HEIGHT - BOTTOM}" font-size="12" fill="#1b1f23">0</text>',
    ]
    by_key = {(w.school_id, w.week_of): w.flagged for w in weeks}
    for i, day in enumerate(days):
        x0 = LEFT + i * slot + 3
        for j, school in enumerate(schools):
            count = by_key.get((school, day), 0)
            height = plot * count / most
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
                f'width="{bar - 1:.1f}" height="{height:.1f}" fill="{COLOURS[j % len(COLOURS)]}">'
                f"<title>{escape(names.get(school, f'School {school}'))}, week of "
                f"{day.day} {day:%B %Y}: {count}</title></rect>"
            )
        if i % 2 == 0:
            parts.append(
                f'<text x="{x0:.1f}" y="{HEIGHT - 8}" font-size="11" fill="#1b1f23">'
                f"{day.day} {day:%b}</text>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" '
        f'fill="{COLOURS[j % len(COLOURS)]}"/></svg> {escape(names.get(s, f"School {s}"))}</li>'
        for j, s in enumerate(schools)
    )
    # Every name in it was escaped above; the rest is our own markup.
    return Markup("".join(parts) + f'<ul class="legend">{legend}</ul>')  # noqa: S704
