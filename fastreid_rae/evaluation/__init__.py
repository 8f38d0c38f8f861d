from .results import read_final_metrics

__all__ = ["read_final_metrics"]
