"""COCO keypoints JSON (labels).

A COCO keypoints file holds ``images`` (``id``, ``file_name``, ``width``, ``height``),
``categories`` (``keypoints`` names and a ``skeleton`` of **1-based** keypoint index pairs) and
``annotations`` (``image_id``, ``category_id``, ``keypoints`` = flat ``[x1, y1, v1, x2, ...]``).

Visibility ``v``: 0 = not labelled (read as NaN; written as ``0, 0, 0``), 1 = labelled but
occluded, 2 = labelled and visible.  mapose keeps it in the keypoint score: ``v = 2`` -> 1.0,
``v = 1`` -> 0.5; when writing, a labelled point with score >= 0.75 (or NaN) gets ``v = 2``, any
lower score ``v = 1``.

Keys starting with ``mapose_`` (symmetry pairs and identity order of a category, exact keypoint
scores of an annotation) are extensions that other COCO tools ignore.

Identities: an annotation's ``track_id`` (as in PoseTrack) or ``attributes`` (``individual``,
``track_id`` or ``identity``) names its animal; mapose writes both ``track_id`` (index) and
``attributes.individual`` (name).  Predicted instances carry a ``score`` (COCO results style):
they are read with ``is_user = False`` and that instance score.  Images that are video frames
carry ``video`` and ``frame_index`` keys beside ``file_name``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from mapose.core.detections import Detections
from mapose.core.labels import ImageRef, Labels
from mapose.core.skeleton import Skeleton
from mapose.errors import FormatError, MaposeError
from mapose.io._files import PathLike, atomic_write_text, require_file

NAME = "coco"
EXTENSIONS = (".json",)

_OCCLUDED_SCORE = 0.5
_VISIBLE_THRESHOLD = 0.75


def sniff(path: PathLike) -> bool:
    """True for a JSON object with ``images``, ``annotations`` and ``categories`` lists whose
    categories define ``keypoints``."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(1024).lstrip()
    except OSError:
        return False
    if not head.startswith(b"{"):
        return False
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(data, dict)
        and isinstance(data.get("annotations"), list)
        and isinstance(data.get("images"), list)
        and isinstance(data.get("categories"), list)
        and any(isinstance(c, dict) and "keypoints" in c for c in data["categories"])
    )


def _pick_category(cats: list, category: Union[None, int, str], p: Path) -> dict:
    kp_cats = [c for c in cats if isinstance(c, dict) and c.get("keypoints")]
    if category is not None:
        for c in kp_cats:
            if c.get("id") == category or c.get("name") == category:
                return c
        raise FormatError(f"{p}: no keypoint category {category!r}; known: "
                          f"{', '.join(repr(c.get('name', c.get('id'))) for c in kp_cats)}")
    if not kp_cats:
        raise FormatError(f"{p}: no category defines 'keypoints'; expected COCO keypoints JSON")
    if len(kp_cats) > 1:
        raise FormatError(f"{p}: {len(kp_cats)} keypoint categories "
                          f"({', '.join(repr(c.get('name', c.get('id'))) for c in kp_cats)}); "
                          f"pass category= to choose one")
    return kp_cats[0]


def _identity(ann: dict) -> Optional[str]:
    attrs = ann.get("attributes")
    if isinstance(attrs, dict):
        for key in ("individual", "identity", "track_id"):
            if attrs.get(key) not in (None, ""):
                return str(attrs[key])
    if ann.get("track_id") is not None:
        return str(ann["track_id"])
    return None


def read_labels(path: PathLike, category: Union[None, int, str] = None,
                image_root: Optional[PathLike] = None) -> Labels:
    """Read a COCO keypoints JSON into :class:`Labels`.

    Parameters
    ----------
    path
        The JSON file.
    category
        Id or name of the keypoint category to read, when the file has several.
    image_root
        Folder the image ``file_name`` s are relative to (``Labels.root``); default: the JSON's
        folder.
    """
    p = require_file(path, "COCO JSON")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list)
                                             for k in ("images", "annotations", "categories")):
        raise FormatError(f"{p}: expected a COCO JSON object with lists 'images', 'annotations' "
                          f"and 'categories'")
    cat = _pick_category(data["categories"], category, p)
    names = [str(n) for n in cat["keypoints"]]
    k = len(names)
    edges = []
    for e in cat.get("skeleton") or []:
        if not (isinstance(e, (list, tuple)) and len(e) == 2
                and all(isinstance(i, int) and 1 <= i <= k for i in e)):
            raise FormatError(f"{p}: skeleton edge {e!r} of category {cat.get('name')!r} is not a "
                              f"pair of 1-based keypoint indices in 1..{k}")
        if e[0] != e[1]:
            edges.append((names[e[0] - 1], names[e[1] - 1]))
    sym = cat.get("mapose_symmetry")
    symmetry = [tuple(s) for s in sym] if isinstance(sym, list) else Skeleton.guess_symmetry(names)
    try:
        sk = Skeleton.from_names(names, edges, symmetry, name=str(cat.get("name", "")))
    except MaposeError as exc:
        raise FormatError(f"{p}: category {cat.get('name')!r}: {exc}") from None
    images, row_of = [], {}
    for img in data["images"]:
        if not isinstance(img, dict) or "id" not in img:
            raise FormatError(f"{p}: image entry {str(img)[:80]!r} has no 'id'")
        if img["id"] in row_of:
            raise FormatError(f"{p}: image id {img['id']!r} appears twice")
        row_of[img["id"]] = len(images)
        video = str(img.get("video") or "")
        frame = int(img["frame_index"]) if video and img.get("frame_index") is not None else -1
        name = str(img.get("file_name") or "")
        try:
            images.append(ImageRef(video=video, frame=frame, image=name))
        except MaposeError as exc:
            raise FormatError(f"{p}: image id {img['id']!r}: {exc}") from None
    frames, kps, scores, inst_scores, ids, is_user = [], [], [], [], [], []
    individuals: list[str] = []
    if isinstance(cat.get("mapose_individuals"), list):  # identity order written by mapose
        individuals = [str(i) for i in cat["mapose_individuals"]]
    for ann in data["annotations"]:
        if not isinstance(ann, dict) or ann.get("category_id") != cat.get("id"):
            continue
        if ann.get("image_id") not in row_of:
            raise FormatError(f"{p}: annotation {ann.get('id')!r} refers to unknown image "
                              f"{ann.get('image_id')!r}")
        flat = ann.get("keypoints")
        if not isinstance(flat, list) or len(flat) != 3 * k:
            raise FormatError(f"{p}: annotation {ann.get('id')!r} has "
                              f"{len(flat) if isinstance(flat, list) else 'no'} keypoint values; "
                              f"expected {3 * k} (x, y, v for {k} keypoints)")
        try:
            arr = np.asarray(flat, dtype=np.float64).reshape(k, 3)
        except (TypeError, ValueError):
            raise FormatError(f"{p}: annotation {ann.get('id')!r} has non-numeric keypoints") from None
        v = arr[:, 2]
        xy = arr[:, :2].copy()
        xy[v <= 0] = np.nan
        sc = np.where(v >= 2, 1.0, np.where(v > 0, _OCCLUDED_SCORE, np.nan))
        if "mapose_scores" in ann and isinstance(ann["mapose_scores"], list) \
                and len(ann["mapose_scores"]) == k:
            sc = np.asarray([np.nan if s is None else s for s in ann["mapose_scores"]], float)
        frames.append(row_of[ann["image_id"]])
        kps.append(xy)
        scores.append(sc)
        user = "score" not in ann
        is_user.append(user)
        inst_scores.append(1.0 if user else float(ann["score"]))
        ident = _identity(ann)
        if ident is None:
            ids.append(-1)
        else:
            if ident not in individuals:
                individuals.append(ident)
            ids.append(individuals.index(ident))
    order = np.argsort(np.asarray(frames, dtype=np.int64), kind="stable")
    pick = lambda seq: [seq[i] for i in order]  # noqa: E731
    det = Detections(
        frame=np.asarray(pick(frames), dtype=np.int64),
        keypoints=np.asarray(pick(kps)).reshape(-1, k, 2),
        keypoint_scores=np.asarray(pick(scores)).reshape(-1, k),
        instance_scores=np.asarray(pick(inst_scores), dtype=np.float64),
        skeleton=sk,
        n_frames=len(images),
        track_id=np.asarray(pick(ids), dtype=np.int64) if individuals else None,
        track_names=tuple(individuals),
        source=str(p),
    )
    return Labels(
        skeleton=sk, images=tuple(images), instances=det, individuals=tuple(individuals),
        is_user=np.asarray(pick(is_user), dtype=bool),
        root=str(Path(image_root) if image_root is not None else p.resolve().parent),
        source=str(p),
    )


def _image_size(labels: Labels, ref: ImageRef) -> Optional[tuple[int, int]]:
    if not ref.image:
        return None
    path = labels.resolve(ref.image)
    if not path.is_file():
        return None
    try:
        from PIL import Image

        with Image.open(path) as im:
            return int(im.size[0]), int(im.size[1])
    except Exception:  # an unreadable image only means no size is written
        return None


def _num(v: float) -> Any:
    return int(v) if float(v).is_integer() else float(v)


def write_labels(labels: Labels, path: PathLike, category_name: str = "animal") -> None:
    """Write :class:`Labels` as COCO keypoints JSON (atomically).

    Image ``width``/``height`` are written when the image file can be found (from
    ``Labels.root``); keypoint scores that are not 1.0 / 0.5 are kept in ``mapose_scores`` so
    predicted labels round-trip; see the module docstring for visibility and identities.
    """
    p = Path(path)
    sk = labels.skeleton
    det = labels.instances
    name = sk.name or category_name
    images = []
    for i, ref in enumerate(labels.images):
        entry: dict[str, Any] = {"id": i + 1}
        if ref.image:
            entry["file_name"] = ref.image
        else:
            entry["file_name"] = f"{Path(ref.video).stem}/img{ref.frame:06d}.png"
        if ref.video:
            entry["video"] = ref.video
            entry["frame_index"] = int(ref.frame)
        size = _image_size(labels, ref)
        if size:
            entry["width"], entry["height"] = size
        images.append(entry)
    anns = []
    tid = det.track_id
    for j in range(len(det)):
        xy = det.keypoints[j]
        sc = det.keypoint_scores[j]
        seen = np.isfinite(xy).all(axis=1)
        flat: list = []
        for kk in range(sk.n_keypoints):
            if not seen[kk]:
                flat += [0, 0, 0]
            else:
                s = sc[kk]
                v = 2 if (np.isnan(s) or s >= _VISIBLE_THRESHOLD) else 1
                flat += [_num(xy[kk, 0]), _num(xy[kk, 1]), v]
        ann: dict[str, Any] = {
            "id": j + 1, "image_id": int(det.frame[j]) + 1, "category_id": 1,
            "keypoints": flat, "num_keypoints": int(seen.sum()), "iscrowd": 0,
        }
        if seen.any():
            x0, y0 = np.min(xy[seen], axis=0)
            x1, y1 = np.max(xy[seen], axis=0)
            ann["bbox"] = [_num(x0), _num(y0), _num(x1 - x0), _num(y1 - y0)]
            ann["area"] = _num((x1 - x0) * (y1 - y0))
        expected = np.where(~seen, np.nan, np.where(
            np.isnan(sc) | (sc >= _VISIBLE_THRESHOLD), 1.0, _OCCLUDED_SCORE))
        exact = np.where(seen, sc, np.nan)
        if not np.array_equal(np.nan_to_num(exact, nan=-1), np.nan_to_num(expected, nan=-1)):
            ann["mapose_scores"] = [None if np.isnan(s) else float(s) for s in exact]
        if tid is not None and tid[j] >= 0:
            ann["track_id"] = int(tid[j])
            ann["attributes"] = {"individual": labels.individuals[int(tid[j])]}
        if not labels.is_user[j]:
            ann["score"] = float(det.instance_scores[j])
        anns.append(ann)
    cat = {
        "id": 1, "name": name, "supercategory": "animal",
        "keypoints": list(sk.keypoints),
        "skeleton": [[a + 1, b + 1] for a, b in sk.edges],
        "mapose_symmetry": [list(s) for s in sk.symmetry_names],
        "mapose_individuals": list(labels.individuals),
    }
    doc = {"info": {"description": "written by mapose"}, "images": images, "annotations": anns,
           "categories": [cat]}
    atomic_write_text(p, json.dumps(doc, indent=1, allow_nan=False))
