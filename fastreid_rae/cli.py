"""What the tools' command lines accept, checked while parsing: a bad value is argparse's
one-line error (exit 2) instead of a traceback from deep inside the tool, or a silent
wrong result (``--top-k -1`` drew an empty rank list and exited 0)."""
import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Optional, Tuple, Type


def nearest_existing(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def folder_problem(folder: str) -> Optional[str]:
    """Why ``folder`` cannot be written to (completing "'<folder>' ..."), or None: it must
    be a folder, or creatable under one, and writable."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        return "is a file; expected a folder"
    existing = nearest_existing(folder)
    if not os.path.isdir(existing):
        return f"cannot be created: '{existing}' is a file; expected a path under a folder"
    if not os.access(existing, os.W_OK):
        return f"cannot be written: '{existing}' is not writable"
    return None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}; expected at least 1")
    return value


def output_folder(text: str) -> Path:
    problem = folder_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"'{text}' {problem}")
    return Path(text)


def output_file(text: str) -> str:
    """A file to write: not a folder, in a folder that exists or can be created."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"'{text}' is a folder; expected a file name")
    problem = folder_problem(os.path.dirname(os.path.abspath(text)))
    if problem:
        raise argparse.ArgumentTypeError(f"'{text}': its folder {problem}")
    return text


def run_tool(main: Callable, user_errors: Tuple[Type[BaseException], ...]) -> None:
    """A tool's ``__main__``: an error the user can fix ends it with its one-line message,
    ``error: ...``, exit status 1; any other error keeps its traceback."""
    try:
        main()
    except user_errors as error:
        sys.exit(f"error: {error}")
