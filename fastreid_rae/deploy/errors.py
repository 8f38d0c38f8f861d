"""The one error type of search and export: what the user gave cannot be used (an index of
another model, an empty image folder, an unreadable image). A ValueError, so callers catching
those still catch it; tools/search.py and tools/export.py print it without a traceback."""


class DeployError(ValueError):
    pass
