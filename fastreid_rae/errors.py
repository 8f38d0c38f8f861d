"""``ConfigError``, in a module that imports nothing: the parts built while the package
initialises (the PT-hat translator, which registers itself with the model's registries) raise
it too, and importing it from ``fastreid_rae.engine.config_loading``, its public home, would
first import the engine's trainer, and with it the model being initialised."""


class ConfigError(ValueError):
    """A config file, key or value is not what the run expects.

    The message names the file (or the command line) or the key, and what was expected.
    A ValueError, as yacs's own type errors are, so callers catching those still catch it.
    """
