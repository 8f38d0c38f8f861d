"""The one error type of the pictures: what the user asked for cannot be drawn (a model
without the part a picture needs, a split with nothing to show). A ValueError, so callers
catching those still catch it; tools/visualize.py prints it without a traceback."""


class VisualizationError(ValueError):
    pass
