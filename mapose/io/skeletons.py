"""Where a skeleton can come from when no pose file holds one yet (a new project).

:func:`read_skeleton` takes, in this order of checks:

- a model folder (its ``skeleton.json``);
- a ``.json`` or ``.yaml`` skeleton file: ``keypoints`` (list), optional ``edges`` and ``symmetry``
  (lists of name pairs) and ``name`` (what :meth:`Skeleton.to_dict` writes); left/right pairs are
  guessed from the names when ``symmetry`` is absent;
- a DeepLabCut project ``config.yaml`` (``bodyparts`` or ``multianimalbodyparts``, ``skeleton``),
  or a Lightning Pose config (``data: keypoint_names``);
- any label or pose file mapose reads;
- a comma-separated list of body parts, ``"head,thorax,abdomen"`` (no edges: training links them
  by a tree learned from the labels; left/right pairs guessed from the names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence, Union

from mapose.core.skeleton import Skeleton
from mapose.errors import ConfigError, MissingFileError, SkeletonError
from mapose.io._files import parse_error_line, require_file


def _from_mapping(raw: dict, path: Path) -> Skeleton:
    if not isinstance(raw.get("keypoints"), list) or not raw["keypoints"]:
        raise SkeletonError(f"{path}: 'keypoints' must be a non-empty list of body part names")
    if "symmetry" not in raw:
        raw = dict(raw, symmetry=Skeleton.guess_symmetry([str(k) for k in raw["keypoints"]]))
    try:
        return Skeleton.from_dict(raw)
    except (TypeError, ValueError) as exc:
        raise SkeletonError(f"{path}: {exc}") from None


def _from_names(names: list, text: str) -> Skeleton:
    if not names or not all(names) or len(set(names)) != len(names):
        raise SkeletonError(f"body part list {text!r} has empty or repeated names")
    return Skeleton.from_names(names, (), Skeleton.guess_symmetry(names))


def read_model_skeleton(model_dir: str | Path) -> Skeleton:
    """The skeleton a model folder was trained with (``skeleton.json``); a missing or damaged file
    raises an error naming it."""
    p = require_file(Path(model_dir) / "skeleton.json", "model skeleton")
    try:
        return Skeleton.from_json(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SkeletonError(f"{p}: not a skeleton in JSON (not a text file)") from None
    except (SkeletonError, TypeError, KeyError, AttributeError, ValueError) as exc:
        raise SkeletonError(f"{p}: {exc}") from None


def read_skeleton(source: Union[str, Path, Sequence[str], Skeleton]) -> Skeleton:
    """The skeleton named by ``source`` (see the module docs for what it may be).

    Raises
    ------
    MissingFileError
        When ``source`` is neither an existing file or folder nor a list of names (a list or
        tuple of names, or one string ``"a,b,c"``).
    SkeletonError, ConfigError
        When the file does not define a usable skeleton (the message names the file).
    """
    from mapose.io import dlc

    if isinstance(source, Skeleton):
        return source
    text = str(source)
    if isinstance(source, (list, tuple)):  # body part names given as a list
        return _from_names([str(n).strip() for n in source], text)
    p = Path(text)
    if p.is_dir():
        return read_model_skeleton(p)
    if not p.exists():
        if "," in text and not any(c in text for c in "/\\"):
            return _from_names([n.strip() for n in text.split(",")], text)
        raise MissingFileError(f"{p}: skeleton source not found (a model folder, skeleton .json/.yaml, "
                               "DeepLabCut config.yaml, label or pose file, or body parts as 'a,b,c')")
    if p.suffix.lower() in (".yaml", ".yml", ".json"):
        import yaml

        try:
            raw = json.loads(p.read_text()) if p.suffix.lower() == ".json" else yaml.safe_load(p.read_text())
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: not a readable {p.suffix[1:].upper()} file, {parse_error_line(exc)}") from None
        if not isinstance(raw, dict):
            raise SkeletonError(f"{p}: expected a mapping with 'keypoints' (or a DeepLabCut config.yaml)")
        if "keypoints" in raw:
            return _from_mapping(raw, p)
        if "bodyparts" in raw or "multianimalbodyparts" in raw:
            return dlc.skeleton_from_config(dlc.read_project_config(p))
        lp = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        if isinstance(lp.get("keypoint_names"), list):  # a Lightning Pose config
            return _from_mapping({"keypoints": [str(k) for k in lp["keypoint_names"]]}, p)
        raise SkeletonError(f"{p}: no 'keypoints' (skeleton file), 'bodyparts' (DeepLabCut config.yaml) "
                            "or 'data: keypoint_names' (Lightning Pose config)")
    from mapose.core.tracks import get_skeleton
    from mapose.io import read_pose_any

    kind, obj = read_pose_any(p)
    return obj.skeleton if kind == "labels" else get_skeleton(obj)
