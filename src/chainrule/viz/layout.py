"""A small layered layout for the interactive page: sources on the left, the output on the right.

Each box goes in the column of its longest path from a source; boxes in a column are ordered by the mean row
of what feeds them (a few sweeps), which keeps the lecture's small graphs free of crossings. No Graphviz
needed, and the page's SVG ids are ours to click.
"""

from __future__ import annotations

GAP_X, GAP_Y = 175, 80


def layered(boxes: list, edges: list, direction: str = "LR", floating=()) -> dict:
    """Positions ``{box: (x, y)}`` of the centres of ``boxes`` (in order) joined by ``edges`` (pairs).

    ``direction``: "LR" (left to right, the lecture's way) or "TB" (top to bottom). ``floating``: boxes
    (constants) placed in the column just before the first box they feed, not with the sources.
    """
    preds: dict = {b: [] for b in boxes}
    for source, target in edges:
        preds[target].append(source)
    column: dict = {}
    for b in boxes:   # NOTE: boxes come in forward order, so every source is placed before its targets
        column[b] = 1 + max((column[p] for p in preds[b] if p in column), default=-1)
    for source, target in edges:
        if source in floating:
            column[source] = max(0, min(column[source] if column[source] else 10 ** 9, column[target] - 1))
    columns: dict = {}
    for b in boxes:
        columns.setdefault(column[b], []).append(b)
    row = {b: float(k) for c in columns.values() for k, b in enumerate(c)}
    succs: dict = {b: [] for b in boxes}
    for source, target in edges:
        succs[source].append(target)
    for _ in range(3):
        for c in sorted(columns)[1:]:
            _order(columns[c], preds, row)
        for c in sorted(columns, reverse=True)[1:]:
            _order(columns[c], succs, row)
    height = max((len(c) for c in columns.values()), default=1)
    positions = {}
    for c, members in columns.items():
        offset = (height - len(members)) / 2
        for k, b in enumerate(members):
            x, y = 80 + c * GAP_X, 50 + (k + offset) * GAP_Y
            positions[b] = (x, y) if direction == "LR" else (50 + (k + offset) * GAP_X, 50 + c * GAP_Y * 1.3)
    return positions


def _order(members: list, neighbours: dict, row: dict) -> None:
    def key(b):
        rows = [row[n] for n in neighbours[b] if n in row]
        return sum(rows) / len(rows) if rows else row[b]
    members.sort(key=key)
    for k, b in enumerate(members):
        row[b] = float(k)
