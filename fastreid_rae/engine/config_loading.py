"""Merge a config file and the command line's KEY VALUE overrides, with one clear error each.

fastreid merges with yacs, which reports an unknown key as a bare ``KeyError`` (no file, no
hint), a wrong type as a ``ValueError`` naming neither the file nor the expected type, and a
missing, empty or non-YAML file with whatever ``open`` or PyYAML raise. With ``_BASE_``
chains the user cannot tell which file is wrong. Here each file of the chain, and the
override list, is checked against the defaults first, so every error is a ``ConfigError``
naming the file (or the command line), the key and what was expected; the merge itself is
still yacs's own (``merge_from_other_cfg`` per file of the chain, base first, then
``merge_from_list``).

Keys the project has removed (``RETIRED_KEYS``) are refused in a config a user writes, like any
unknown key; in a finished run's ``config.yaml`` (fastreid writes every key there) they are
dropped with a warning, so the tools still read runs made before the removal.
"""
import difflib
import logging
import os
from typing import Any, Dict, Iterable, List, Sequence, Tuple

import yaml
from fastreid.config import CfgNode
from fastreid.config.config import BASE_KEY
# yacs's own type rule (same type, list <-> tuple, None either side), applied at merge time;
# reused so that this check and the merge cannot disagree.
from yacs.config import _check_and_coerce_cfg_value_type

from ..errors import ConfigError  # noqa: F401  (defined below every package; imported from here)

COMMAND_LINE = "command line"

logger = logging.getLogger(__name__)

# key -> why it went and what replaced it
RETIRED_KEYS = {
    "RAE.FUSION.RE_ENCODING_UPDATES_BN_STATS": "the re-encoding pass keeps BN statistics of its own "
                                               "(docs/model.md, \"BN statistics of the re-encoding\")",
    "RAE.FUSION.TARGET_CLASSIFIER_FROM_CENTERS": "the fusion head's target classifier always starts "
                                                 "from the fused cluster centres; drawn at random, its "
                                                 "target CE stayed near chance (docs/model.md, "
                                                 "\"Target classifier\")",
    "RAE.PSEUDO_LABEL.FEATURE": "the clustered feature is Enc's BN-necked one, the only value it "
                                "ever accepted (docs/design.md, \"Which feature is clustered\")",
}


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'X'?)' for the closest candidate, '' when none is close."""
    candidates = list(candidates)
    # a case slip ('Adamw') first: difflib alone would rank 'Adam' above 'AdamW'
    close = ([candidate for candidate in candidates if candidate.lower() == word.lower()]
             or difflib.get_close_matches(word, candidates, n=1))
    return f" (did you mean {close[0]!r}?)" if close else ""


def _full_keys(node: CfgNode, prefix: str = "") -> List[str]:
    keys = []
    for key, value in node.items():
        keys.append(prefix + key)
        if isinstance(value, CfgNode):
            keys += _full_keys(value, f"{prefix}{key}.")
    return keys


# ---- reading the files of a _BASE_ chain ---------------------------------------------------

class _DuplicateKey(Exception):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping: PyYAML (and so yacs)
    keeps the last one silently, e.g. a second SOLVER section replacing the first."""

    def construct_mapping(self, node, deep=False):
        first_line = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise _DuplicateKey(f"key '{key}' is given twice (lines {first_line[key]} and "
                                    f"{line}); expected each key once per section")
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: str, where: str) -> Dict[str, Any]:
    if os.path.isdir(path):
        raise ConfigError(f"config file '{path}'{where} is a folder; expected a YAML file, e.g. "
                          f"configs/RAE/duke2market.yml")
    if not os.path.isfile(path):
        raise ConfigError(f"config file '{path}'{where} not found")
    try:
        with open(path) as stream:
            content = yaml.load(stream, Loader=_UniqueKeyLoader)
    except _DuplicateKey as error:
        raise ConfigError(f"config file '{path}'{where}: {error}") from None
    except yaml.YAMLError as error:  # includes the unsafe tags fastreid refuses by default
        raise ConfigError(f"config file '{path}'{where} is not valid YAML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file '{path}'{where} is not a text file: {error}") from None
    if not isinstance(content, dict):
        found = "nothing" if content is None else f"a {type(content).__name__}"
        raise ConfigError(f"config file '{path}'{where} holds {found}; expected a mapping of "
                          f"config keys, e.g. 'MODEL:\\n  BACKBONE:\\n    DEPTH: 50x'")
    return content


def _base_path(base: str, referenced_by: str) -> str:
    # fastreid's rule (CfgNode.load_yaml_with_base): relative to the referencing file
    base = os.path.expanduser(base)
    return base if os.path.isabs(base) else os.path.join(os.path.dirname(referenced_by), base)


def config_chain(path: str) -> List[Tuple[str, Dict[str, Any]]]:
    """``(file, its own keys)`` for ``path`` and its ``_BASE_`` files, base first."""
    chain, seen, where = [], set(), ""
    while True:
        if os.path.abspath(path) in seen:  # fastreid would recurse until RecursionError
            raise ConfigError(f"config file '{path}'{where} is already in its own _BASE_ chain")
        seen.add(os.path.abspath(path))
        content = _read_yaml(path, where)
        base = content.pop(BASE_KEY, None)
        chain.append((path, content))
        if base is None:
            return chain[::-1]
        if not isinstance(base, str):
            raise ConfigError(f"config file '{path}': _BASE_ = {base!r}; expected a file path")
        path, where = _base_path(base, path), f" (the _BASE_ of '{path}')"


# ---- checking keys and values against the defaults ----------------------------------------

def _type_hint(decoded: Any, default: Any) -> str:
    # The two slips yacs refuses most: an int for a float (yacs never converts one), and a
    # single name for a tuple of names ("DATASETS.NAMES DukeMTMC").
    if type(decoded) is int and type(default) is float:
        return f" (write {float(decoded)!r})"
    if type(decoded) is str and isinstance(default, (tuple, list)):
        return f" (write {(decoded,)!r})"
    return ""


def _check_value(full_key: str, value: Any, default: Any, source: str) -> None:
    decoded = CfgNode._decode_cfg_value(value)  # what yacs will merge: "(1, 2)" -> (1, 2)
    try:
        _check_and_coerce_cfg_value_type(decoded, default, full_key.rsplit(".", 1)[-1], full_key)
    except ValueError:
        hint = _type_hint(decoded, default)
        raise ConfigError(
            f"{source}: {full_key} = {decoded!r} has type {type(decoded).__name__}; expected "
            f"{type(default).__name__}, like its default {default!r}{hint}") from None


def _check_keys(values: Dict[str, Any], defaults: CfgNode, source: str,
                all_keys: Sequence[str], prefix: str = "") -> None:
    for key, value in values.items():
        full_key = f"{prefix}{key}"
        if key not in defaults:
            hint = (" (flags such as --resume go before the KEY VALUE overrides)"
                    if str(key).startswith("--") else did_you_mean(full_key, all_keys))
            raise ConfigError(f"{source}: unknown config key '{full_key}'{hint}; the keys are "
                              f"fastreid's (fastreid/config/defaults.py) and RAE's "
                              f"(fastreid_rae/config.py)")
        default = defaults[key]
        if not isinstance(default, CfgNode):
            _check_value(full_key, value, default, source)
        elif isinstance(value, dict):
            _check_keys(value, default, source, all_keys, f"{full_key}.")
        else:
            raise ConfigError(f"{source}: '{full_key}' is a section of keys "
                              f"({', '.join(list(default)[:4])}, ...); got the value {value!r}")


def _overrides_as_tree(opts: Sequence[str]) -> Dict[str, Any]:
    """``["A.B", "1", ...]`` -> ``{"A": {"B": "1"}}``, the shape of a config file."""
    if len(opts) % 2:
        raise ConfigError(f"{COMMAND_LINE}: overrides must be KEY VALUE pairs; "
                          f"{opts[-1]!r} has no value")
    tree: Dict[str, Any] = {}
    for full_key, value in zip(opts[0::2], opts[1::2]):
        *sections, key = full_key.split(".")
        node = tree
        for section in sections:
            node = node.setdefault(section, {})
            if not isinstance(node, dict):  # "A 1 A.B 2": A is a value and a section
                raise ConfigError(f"{COMMAND_LINE}: '{full_key}' given both as a key and a section")
        node[key] = value
    return tree


def _without_retired(content: Dict[str, Any], source: str) -> Dict[str, Any]:
    """``content`` less the RETIRED_KEYS it sets, each dropped with a warning."""
    for full_key, reason in RETIRED_KEYS.items():
        *sections, key = full_key.split(".")
        node = content
        for section in sections:
            node = node.get(section) if isinstance(node, dict) else None
        if isinstance(node, dict) and key in node:
            del node[key]
            logger.warning(f"{source}: ignoring {full_key}, which this version no longer has: {reason}")
    return content


def merge_config(cfg: CfgNode, config_file: str, opts: Sequence[str] = (), finished_run: bool = False) -> CfgNode:
    """``config_file`` (its ``_BASE_`` chain, base first) then ``opts`` merged into ``cfg``,
    checked first.

    ``cfg`` holds the defaults (``get_cfg()`` + ``add_rae_config``). Raises ConfigError for a
    missing, empty or non-YAML file (any file of the ``_BASE_`` chain), an unknown key (with
    the closest known one), a section given a value, a value of the wrong type, and an odd
    override list. ``finished_run``: ``config_file`` is a run's written config.yaml, whose
    RETIRED_KEYS are dropped with a warning instead of refused.
    """
    if not config_file:
        raise ConfigError("no config file given; pass --config-file, e.g. "
                          "--config-file configs/RAE/duke2market.yml")
    opts = list(opts or [])
    all_keys = _full_keys(cfg)
    chain = config_chain(config_file)
    for path, content in chain:
        if finished_run:
            _without_retired(content, f"config file '{path}'")
        _check_keys(content, cfg, f"config file '{path}'", all_keys)
    _check_keys(_overrides_as_tree(opts), cfg, COMMAND_LINE, all_keys)
    # the checked contents, base first: what merge_from_file would merge, less any retired key
    for path, content in chain:
        _merge_or_explain(cfg.merge_from_other_cfg, CfgNode(content), f"config file '{path}'")
    _merge_or_explain(cfg.merge_from_list, opts, COMMAND_LINE)
    return cfg


def _merge_or_explain(merge, what, source: str) -> None:
    # The checks above catch what yacs would refuse; this keeps any case they miss (e.g. a
    # value whose default is None, then given another type) one ConfigError naming the source.
    try:
        merge(what)
    except (KeyError, ValueError, AssertionError) as error:
        raise ConfigError(f"{source}: {error}") from None
