"""The package's layering: modeling sits below translation (PT-hat plugs its translator in
through modeling's PRE_PIXEL_TRANSFER_REGISTRY), so the model can be read, built and
exported without the translator's package."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fastreid_rae"


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_modeling_never_imports_translation():
    offending = {f"{path.relative_to(PACKAGE)}: {module}"
                 for path in (PACKAGE / "modeling").rglob("*.py")
                 for module in _imported_modules(path) if "translation" in module}
    assert not offending


def test_the_pre_pixel_transfer_entry_is_registered_by_translation():
    import fastreid_rae  # noqa: F401
    from fastreid_rae.modeling.registry import PRE_PIXEL_TRANSFER, PRE_PIXEL_TRANSFER_REGISTRY
    from fastreid_rae.translation import SourceStyleTranslation

    assert PRE_PIXEL_TRANSFER_REGISTRY.get(PRE_PIXEL_TRANSFER) is SourceStyleTranslation
