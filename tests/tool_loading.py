"""A command-line tool of tools/ loaded as a module, so tests call its ``main(argv)`` in this
process (no interpreter start-up)."""
import importlib.util
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_tool(filename: str):
    spec = importlib.util.spec_from_file_location(Path(filename).stem, TOOLS / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
