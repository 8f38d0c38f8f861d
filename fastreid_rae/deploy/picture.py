"""A picture of search results: a row per query image, its nearest indexed images after it,
each captioned with its score. Laid out by the rank lists' grid (visualization/ranklist.py);
no green/red frames, as an unlabelled camera network has no identities to check."""
from typing import List, Sequence

from ..visualization.canvas import ImageGrid, read_image
from ..visualization.ranklist import ranklist_layout
from .index import Hit


def draw_search_results(queries: Sequence[str], hits: Sequence[List[Hit]], metric: str, output: str) -> str:
    """PNG of each query and its hits (nearest first) at ``output``; returns ``output``."""
    shown = max(len(row) for row in hits)
    grid = ImageGrid(ranklist_layout(len(queries), shown, num_models=1))
    layout = grid.layout
    grid.title(0, "query")
    grid.title(1, f"nearest {shown} ({metric})")
    for row, (query, query_hits) in enumerate(zip(queries, hits)):
        grid.put(row, 0, 0, read_image(query))
        for column, hit in enumerate(query_hits):
            grid.put(row, 1, column, read_image(hit.image))
            top, left = layout.cell_origin(row, 1, column)
            # the score on the cell's lower edge, in figure fractions (y counted from the bottom)
            grid.figure.text((left + layout.cell_size[1] / 2) / layout.width,
                             1 - (top + layout.cell_size[0] - 2) / layout.height, f"{hit.score:.3f}",
                             fontsize=7, ha="center", va="bottom", backgroundcolor="white")
    return grid.save(output)
