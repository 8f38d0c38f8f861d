"""Table IV's rows and the "X" / "X + RAE" rows of the other backends, each defined once: the
switches that make it, and which of a setting's configs it changes.

A *setting* is one pair config (e.g. configs/RAE/synthetic/duke2market.yml). Rows train one of
its three stages, each the pair config itself unless a file beside it, named by suffix, says
otherwise:

- ``source``: ``<pair>_direct_transfer.yml``, the source model's own schedule;
- ``adapt``: ``<pair>_from_source.yml``, adapting the direct-transfer row's model
  (RAE.SOURCE_PRETRAIN.FROM_SOURCE_MODEL) instead of training Enc on the source first;
- ``adapt_with_decoder``: ``<pair>_from_source_decoder_first.yml``, the same after Dec has
  trained on the loaded, frozen Enc (post pixel transfer needs a Dec that reconstructs).

The paper-sized settings have no such files: every row trains its whole schedule from ImageNet.
"""
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..pseudo_labels import registered_pseudo_labelers
from .variants import Variant, adapts_source_model

SOURCE, ADAPT, ADAPT_WITH_DECODER = "source", "adapt", "adapt_with_decoder"
STAGE_SUFFIXES = {SOURCE: ("_direct_transfer",),
                  ADAPT: ("_from_source",),
                  ADAPT_WITH_DECODER: ("_from_source_decoder_first", "_from_source")}

FT_OFF = ("RAE.FEATURE_TRANSFER.ENABLED", False)
PT_OFF = ("RAE.PIXEL_TRANSFER.ENABLED", False)
F_OFF = ("RAE.FUSION.ENABLED", False)
PT_HAT = ("RAE.PIXEL_TRANSFER.MODE", "pre")


@dataclass(frozen=True)
class Row:
    stage: str
    overrides: Tuple = ()
    translator: bool = False  # PT-hat: reads the translated source set (--translator)

    @property
    def fusion(self) -> bool:
        return F_OFF[0] not in self.overrides[::2]


SOURCE_MODEL_ROW = "direct_transfer"  # its model is what the adapting rows start from
TABLE_IV = {
    SOURCE_MODEL_ROW: Row(SOURCE, ("DATASETS.TARGET", "", *FT_OFF, *PT_OFF, *F_OFF)),
    "baseline": Row(ADAPT, (*FT_OFF, *PT_OFF, *F_OFF)),
    "ft": Row(ADAPT, (*PT_OFF, *F_OFF)),
    "pt": Row(ADAPT_WITH_DECODER, (*FT_OFF, *F_OFF)),
    "ft_pt": Row(ADAPT_WITH_DECODER, F_OFF),
    "ft_pt_f": Row(ADAPT_WITH_DECODER),
    "pt_hat": Row(ADAPT, (*FT_OFF, *PT_HAT, *F_OFF), translator=True),
    "ft_pt_hat": Row(ADAPT, (*PT_HAT, *F_OFF), translator=True),
    "ft_pt_hat_f": Row(ADAPT, PT_HAT, translator=True),
}
# "X" is the baseline with backend X, "X + RAE" the full RAE (ft_pt_f) with it (Table V)
BACKEND_ROWS = {"": "baseline", "_rae": "ft_pt_f"}


def _all_rows() -> Dict[str, Row]:
    """Table IV's rows, then <backend> and <backend>_rae for each registered pseudo-label
    backend (registered at import, so built on demand)."""
    rows = dict(TABLE_IV)
    for backend in registered_pseudo_labelers():
        for suffix, base in BACKEND_ROWS.items():
            row = TABLE_IV[base]
            rows[f"{backend}{suffix}"] = replace(
                row, overrides=(*row.overrides, "RAE.PSEUDO_LABEL.NAME", backend))
    return rows


def row_names() -> List[str]:
    return list(_all_rows())


def find_row(name: str) -> Row:
    rows = _all_rows()
    if name not in rows:
        raise ValueError(f"unknown row {name!r}; valid: {', '.join(rows)}")
    return rows[name]


def stage_config(setting, stage: str) -> Path:
    """The setting's config for ``stage``: the first file beside it with one of the stage's
    suffixes, else the setting itself."""
    setting = Path(setting).resolve()
    if not setting.is_file():
        raise FileNotFoundError(f"config file not found: {setting}")
    for suffix in STAGE_SUFFIXES[stage]:
        candidate = setting.with_name(f"{setting.stem}{suffix}.yml")
        if candidate.is_file():
            return candidate
    return setting


def row_variant(setting, name: str, translator=None) -> Variant:
    """Row ``name`` of ``setting`` as a variant: its stage's config and its switches. PT-hat
    rows read tools/train_translator.py's output: ``translator``/translated, and with the
    fusion ``translator``/translator.pth."""
    row = find_row(name)
    overrides = row.overrides
    if row.translator:
        if translator is None:
            raise ValueError(f"row {name} (PT-hat) needs the translator's folder (--translator): "
                             "tools/train_translator.py --output-dir DIR --translate DIR/translated")
        translator = Path(translator)
        overrides += ("RAE.TRANSLATOR.TRANSLATED_ROOT", str(translator / "translated"))
        if row.fusion:  # the fusion re-encodes through the translator's frozen G_t2s
            overrides += ("RAE.TRANSLATOR.WEIGHTS", str(translator / "translator.pth"))
    return Variant(name, stage_config(setting, row.stage), overrides)


def with_source_model(variants: Sequence[Variant],
                      source_model: Variant) -> Tuple[List[Variant], Optional[str]]:
    """``variants`` and the name of the one whose model the others adapt (None when none
    adapts one). When one adapts it and ``source_model`` is not among them, it is added first:
    its runs are trained (or found finished) before theirs."""
    variants = list(variants)
    if not any(adapts_source_model(variant) for variant in variants):
        return variants, None
    if source_model.name not in {variant.name for variant in variants}:
        variants.insert(0, source_model)
    return variants, source_model.name


def row_variants(setting, names: Sequence[str], translator=None) -> Tuple[List[Variant], Optional[str]]:
    """The variants of ``names``, with the direct-transfer row when one adapts its model
    (``with_source_model``)."""
    return with_source_model([row_variant(setting, name, translator) for name in dict.fromkeys(names)],
                             row_variant(setting, SOURCE_MODEL_ROW))
