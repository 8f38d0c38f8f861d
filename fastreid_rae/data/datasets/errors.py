"""The one error every dataset loader and layout check raises."""


class DatasetLayoutError(ValueError):
    """A dataset root, folder, list file or file name is not what its loader expects.

    The message always names the path that was checked and the expected layout, so a user can
    fix the data without reading loader code. A ValueError (not FileNotFoundError) because a
    malformed file name is as much a cause as a missing folder.
    """
