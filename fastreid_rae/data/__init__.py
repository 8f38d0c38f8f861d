from . import datasets  # noqa: F401  (registers CUHK03Pair1 and CUHK01)
