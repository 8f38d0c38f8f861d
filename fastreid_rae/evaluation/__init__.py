from .results import read_final_metrics, write_results

__all__ = ["read_final_metrics", "write_results"]
