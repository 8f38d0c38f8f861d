"""Rank lists of target queries, one block of top-k gallery images per model side by side
(e.g. a baseline and RAE): a green border marks a true match, red a wrong one."""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
from fastreid.utils.compute_dist import build_dist

from .canvas import GridLayout, ImageGrid, framed, read_image
from .errors import VisualizationError
from .features import extract_features
from .loading import ModelSource, load_model
from .samples import choose_indices, dataset_split

CORRECT = (0, 200, 0)
WRONG = (220, 0, 0)
BORDER = 4  # pixels


def ranklist_layout(num_queries: int, top_k: int, num_models: int) -> GridLayout:
    """One row per query: the query, then ``top_k`` cells for each model."""
    return GridLayout(rows=num_queries, groups=(1,) + (top_k,) * num_models)


def queries_with_matches(q_pids, g_pids, q_camids, g_camids) -> np.ndarray:
    """Indices of the queries whose identity the gallery holds from another camera: the
    queries the Market-1501 protocol evaluates."""
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    matches = (q_pids[:, None] == g_pids[None, :]) & (q_camids[:, None] != g_camids[None, :])
    return np.flatnonzero(matches.any(axis=1))


def top_k_gallery(distances, q_pids, g_pids, q_camids, g_camids, top_k: int):
    """``(indices, correct)``, both num_query x top_k: each query's nearest gallery images
    and whether each shares its identity. As in the Market-1501 protocol, gallery images of
    the query's identity from the query's own camera are junk and never ranked."""
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    same_id = q_pids[:, None] == g_pids[None, :]
    junk = same_id & (q_camids[:, None] == g_camids[None, :])
    kept = np.where(junk, np.inf, np.asarray(distances, dtype=np.float64))
    order = np.argsort(kept, axis=1, kind="stable")  # ties: gallery order, as in the evaluator
    # never show junk, even when fewer than top_k images are kept
    top_k = min(top_k, int((~junk).sum(axis=1).min()))
    indices = order[:, :top_k]
    return indices, np.take_along_axis(same_id, indices, axis=1)


@dataclass
class Ranking:
    """The chosen queries, the gallery, and each model's top-k gallery indices (rows =
    queries) with whether each shares the query's identity."""
    query_paths: List[str]
    query_pids: np.ndarray
    gallery_paths: List[str]
    gallery_pids: np.ndarray
    model_names: List[str]
    indices: List[np.ndarray]
    correct: List[np.ndarray]


def rank_models(sources: Sequence[ModelSource], num_queries: int = 6, top_k: int = 5, seed: int = 0,
                kind: str = "final", dataset: Optional[str] = None, opts: Sequence[str] = ()) -> Ranking:
    """Rank the gallery of ``dataset`` (default: the first model's first DATASETS.TESTS) for
    ``num_queries`` seeded queries under each model; the same queries for every model."""
    if not sources:
        raise VisualizationError("ranklist needs at least one model")
    cfgs = [source.config(opts) for source in sources]
    name = dataset or (cfgs[0].DATASETS.TESTS[0] if cfgs[0].DATASETS.TESTS else "")
    query, gallery = dataset_split(cfgs[0], name, "query"), dataset_split(cfgs[0], name, "gallery")
    q_paths, q_pids, q_camids = (list(column) for column in zip(*query))
    g_paths, g_pids, g_camids = (list(column) for column in zip(*gallery))
    candidates = queries_with_matches(q_pids, g_pids, q_camids, g_camids)
    if not len(candidates):
        raise VisualizationError(f"no query of {name!r} has a match in its gallery from another camera")
    chosen = candidates[choose_indices(len(candidates), num_queries, seed)]
    q_paths = [q_paths[i] for i in chosen]
    q_pids, q_camids = np.asarray(q_pids)[chosen], np.asarray(q_camids)[chosen]

    ranking = Ranking(q_paths, q_pids, g_paths, np.asarray(g_pids), [], [], [])
    for source, cfg in zip(sources, cfgs):
        model = load_model(cfg, source.weights)
        features = extract_features(model, cfg, q_paths + g_paths, kind, desc=f"{source.name} features")
        distances = build_dist(features[:len(q_paths)], features[len(q_paths):], cfg.TEST.METRIC)
        indices, correct = top_k_gallery(distances, q_pids, g_pids, q_camids, g_camids, top_k)
        ranking.model_names.append(source.name)
        ranking.indices.append(indices)
        ranking.correct.append(correct)
    return ranking


def render_ranklist(ranking: Ranking, output: str) -> str:
    """PNG of ``ranking``: a row per query, the query then each model's top-k, framed green
    (same identity) or red; returns ``output``."""
    shown = ranking.indices[0].shape[1]
    grid = ImageGrid(ranklist_layout(len(ranking.query_paths), shown, len(ranking.model_names)))
    grid.title(0, "query")
    for group, name in enumerate(ranking.model_names, start=1):
        grid.title(group, f"{name} (top {shown})")
    for row, path in enumerate(ranking.query_paths):
        grid.put(row, 0, 0, read_image(path))
        for group, (indices, correct) in enumerate(zip(ranking.indices, ranking.correct), start=1):
            for column, (index, match) in enumerate(zip(indices[row], correct[row])):
                cell = framed(read_image(ranking.gallery_paths[index]), grid.layout.cell_size,
                              CORRECT if match else WRONG, BORDER)
                grid.put(row, group, column, cell)
    return grid.save(output)


def draw_ranklist(sources: Sequence[ModelSource], output: str, **options) -> str:
    """:func:`rank_models` (``options``) drawn by :func:`render_ranklist` into ``output``."""
    return render_ranklist(rank_models(sources, **options), output)
