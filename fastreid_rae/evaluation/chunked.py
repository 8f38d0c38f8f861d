"""Re-ID evaluation without the dense query x gallery distance matrix (``TEST.CHUNKED``).

fastreid's ``ReidEvaluator.evaluate`` builds the whole ``(num_query, num_gallery)`` matrix
(``fastreid/utils/compute_dist.py::build_dist``) and then ranks it: at MSMT17 test size
(11,659 x 82,161) that is 3.8 GB of float32 before any ranking memory. Here blocks of
``TEST.CHUNKED.QUERY_CHUNK`` queries get their distances to the whole gallery by one matrix
product (numpy's or torch's BLAS, ``TEST.CHUNKED.MATMUL``) and are ranked at once by
``rank.rank_blocks`` (the ranker the dense path uses too), so memory is the features plus
one block. The metrics and the result dict are ReidEvaluator's.

Re-ranking (``TEST.RERANK``), query expansion (``TEST.AQE``) and ROC (``TEST.ROC``) need the
dense matrix (or gallery x gallery neighbours); enabling one with ``TEST.CHUNKED.ENABLED``
raises when the evaluator is built, before inference, rather than silently falling back to
a path that may not fit in memory.
"""
import copy
import itertools
import logging
import time
from collections import OrderedDict

import numpy as np
import torch
from fastreid.evaluation import ReidEvaluator
from fastreid.utils import comm

from ..config import config_value
from .rank import query_blocks, rank_blocks

logger = logging.getLogger(__name__)

DENSE_ONLY_OPTIONS = ("TEST.RERANK.ENABLED", "TEST.AQE.ENABLED", "TEST.ROC.ENABLED")
METRICS = ("cosine", "euclidean")


def build_reid_evaluator(cfg, num_query, output_dir=None):
    """``ChunkedReidEvaluator`` when ``TEST.CHUNKED.ENABLED``, else fastreid's ``ReidEvaluator``."""
    evaluator = ChunkedReidEvaluator if cfg.TEST.CHUNKED.ENABLED else ReidEvaluator
    return evaluator(cfg, num_query, output_dir)


class ChunkedReidEvaluator(ReidEvaluator):
    """fastreid's ``ReidEvaluator`` with ``evaluate`` ranking query blocks on the fly."""

    def __init__(self, cfg, num_query, output_dir=None):
        check_chunked_config(cfg)
        super().__init__(cfg, num_query, output_dir)

    @torch.no_grad()
    def evaluate(self):
        if comm.get_world_size() > 1:
            comm.synchronize()
            predictions = list(itertools.chain(*comm.gather(self._predictions, dst=0)))
            if not comm.is_main_process():
                return {}
        else:
            predictions = self._predictions

        features = torch.cat([p["feats"] for p in predictions])
        pids = torch.cat([p["pids"] for p in predictions]).numpy()
        camids = torch.cat([p["camids"] for p in predictions]).numpy()
        num_query = self._num_query
        block_distances = QueryBlockDistances(features[:num_query], features[num_query:],
                                              self.cfg.TEST.METRIC, self.cfg.TEST.CHUNKED.MATMUL)
        blocks = query_blocks(num_query, self.cfg.TEST.CHUNKED.QUERY_CHUNK)

        start = time.perf_counter()
        cmc, all_AP, all_INP = rank_blocks(
            ((rows, block_distances(rows)) for rows in blocks),
            pids[:num_query], pids[num_query:], camids[:num_query], camids[num_query:])
        logger.info("Chunked evaluation: %d queries x %d gallery images in %d blocks, %.1f s",
                    num_query, len(pids) - num_query, len(blocks), time.perf_counter() - start)

        # the dict ReidEvaluator.evaluate returns (fastreid/evaluation/reid_evaluation.py)
        mAP, mINP = np.mean(all_AP), np.mean(all_INP)
        self._results = OrderedDict()
        for r in [1, 5, 10]:
            self._results['Rank-{}'.format(r)] = cmc[r - 1] * 100
        self._results['mAP'] = mAP * 100
        self._results['mINP'] = mINP * 100
        self._results["metric"] = (mAP + cmc[0]) / 2 * 100
        return copy.deepcopy(self._results)


def torch_product(query, gallery):
    """``query @ gallery.T`` by torch (its MKL on the CPU), as ``build_dist`` multiplies."""
    return torch.mm(query, gallery.t()).numpy()


def numpy_product(query, gallery):
    """``query @ gallery.T`` by numpy's BLAS: twice torch's MKL speed on AMD CPUs
    (docs/performance.md, "Evaluation at MSMT17 size")."""
    return query.numpy() @ gallery.numpy().T


MATMULS = {"numpy": numpy_product, "torch": torch_product}


class QueryBlockDistances:
    """``dist(rows)``: distances of the queries ``rows`` to the whole gallery, as numpy, with
    ``build_dist``'s formulas (``fastreid/utils/compute_dist.py``), the product of each block
    by ``TEST.CHUNKED.MATMUL``'s library. Gallery-side terms are computed once."""

    def __init__(self, query, gallery, metric, matmul):
        self.metric, self.product = metric, MATMULS[matmul]
        if metric == "cosine":  # F.normalize's x / max(|x|, 1e-12), on the copies torch.cat made
            query = query.div_(query.norm(dim=1, keepdim=True).clamp_min(1e-12))
            gallery = gallery.div_(gallery.norm(dim=1, keepdim=True).clamp_min(1e-12))
        else:
            self.query_sq = query.pow(2).sum(dim=1, keepdim=True).numpy()
            self.gallery_sq = gallery.pow(2).sum(dim=1, keepdim=True).t().numpy()
        self.query, self.gallery = query, gallery

    def __call__(self, rows):
        product = self.product(self.query[rows], self.gallery)
        if self.metric == "cosine":
            return np.subtract(1, product, out=product)  # 1 - q.g
        dist = self.query_sq[rows] + self.gallery_sq  # |q|^2 + |g|^2 - 2 q.g
        dist -= np.multiply(product, 2, out=product)
        return dist


def check_chunked_config(cfg):
    """Refuse, naming the key, what the chunked evaluator cannot do."""
    enabled = [key for key in DENSE_ONLY_OPTIONS if config_value(cfg, key)]
    if enabled:
        raise ValueError(
            f"TEST.CHUNKED.ENABLED evaluates query blocks without the dense query x gallery "
            f"distance matrix, but {', '.join(enabled)} needs that matrix "
            f"(fastreid/evaluation/reid_evaluation.py). Set TEST.CHUNKED.ENABLED False to "
            f"evaluate densely with fastreid's ReidEvaluator, or turn {', '.join(enabled)} off.")
    if cfg.TEST.METRIC not in METRICS:
        raise ValueError(f"TEST.METRIC must be one of {METRICS} with TEST.CHUNKED.ENABLED, "
                         f"got {cfg.TEST.METRIC!r}")
    if cfg.TEST.CHUNKED.MATMUL not in MATMULS:
        raise ValueError(f"TEST.CHUNKED.MATMUL must be one of {tuple(MATMULS)}, "
                         f"got {cfg.TEST.CHUNKED.MATMUL!r}")
    chunk = cfg.TEST.CHUNKED.QUERY_CHUNK
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"TEST.CHUNKED.QUERY_CHUNK must be a positive number of queries, "
                         f"got {chunk!r}")

