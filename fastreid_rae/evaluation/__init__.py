from .chunked import ChunkedReidEvaluator, build_reid_evaluator
from .results import read_final_metrics, write_results

__all__ = ["ChunkedReidEvaluator", "build_reid_evaluator", "read_final_metrics", "write_results"]
