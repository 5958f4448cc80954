"""The :class:`Skeleton`: keypoint names, edges and left/right symmetry pairs."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np

from mapose.errors import SkeletonError


#: names of one-sided body parts (:meth:`Skeleton.lateral_keypoints`)
_ONE_SIDED = re.compile(r"(?i:left|right)|(?<![A-Z])[LR](?![a-z])|(?:^|[_\-\s])[lr](?=$|[_\-\s\d])")


def _fmt_known(names: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(names[:limit])
    return shown + (", …" if len(names) > limit else "")


@dataclass(frozen=True)
class Skeleton:
    """Keypoint names, the edges that connect them and left/right symmetric pairs.

    Parameters
    ----------
    keypoints
        Unique keypoint (body part) names, in model/channel order.
    edges
        Pairs of keypoint indices ``(source, destination)``; the order of an edge gives the
        direction of its part-affinity field.
    symmetry
        Pairs of keypoint indices that swap under a left/right mirror (e.g. ``("earL", "earR")``).
        Used by flip augmentation.
    name
        Optional skeleton name.

    Examples
    --------
    >>> sk = Skeleton.from_names(["head", "thorax", "tail"], edges=[("head", "thorax"),
    ...                          ("thorax", "tail")])
    >>> sk.index("thorax")
    1
    """

    keypoints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()
    symmetry: tuple[tuple[int, int], ...] = ()
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.keypoints, (str, bytes)):
            raise SkeletonError(f"keypoints must be a list of names; got the single string {self.keypoints!r}")
        kps = tuple(str(k) for k in self.keypoints)
        object.__setattr__(self, "keypoints", kps)
        if len(kps) == 0:
            raise SkeletonError("a skeleton needs at least one keypoint")
        seen: set[str] = set()
        dup = sorted({k for k in kps if k in seen or seen.add(k)})  # type: ignore[func-returns-value]
        if dup:
            raise SkeletonError(f"duplicated keypoint names in skeleton: {', '.join(dup)}")
        n = len(kps)
        for attr in ("edges", "symmetry"):
            try:
                pairs = tuple((int(a), int(b)) for a, b in getattr(self, attr))
            except (TypeError, ValueError):
                raise SkeletonError(f"{attr} must be pairs of keypoint indices, e.g. ((0, 1),); got "
                                    f"{getattr(self, attr)!r} (for pairs of names use Skeleton.from_names)") from None
            for a, b in pairs:
                if not (0 <= a < n and 0 <= b < n):
                    raise SkeletonError(
                        f"{attr[:-1] if attr == 'edges' else attr} ({a}, {b}) refers to a keypoint "
                        f"index outside 0..{n - 1}"
                    )
                if a == b:
                    raise SkeletonError(f"{attr} pair ({kps[a]}, {kps[b]}) links a keypoint to itself")
            object.__setattr__(self, attr, pairs)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_names(
        cls,
        keypoints: Iterable[str],
        edges: Iterable[tuple[str, str]] = (),
        symmetry: Iterable[tuple[str, str]] = (),
        name: str = "",
    ) -> "Skeleton":
        """Build a skeleton from keypoint names, with edges and symmetry pairs given by name."""
        if isinstance(keypoints, (str, bytes)):
            raise SkeletonError(f"keypoints must be a list of names; got the single string {keypoints!r}")
        kps = tuple(str(k) for k in keypoints)
        tmp = cls(kps, name=name)
        return cls(
            kps,
            tuple((tmp.index(a), tmp.index(b)) for a, b in edges),
            tuple((tmp.index(a), tmp.index(b)) for a, b in symmetry),
            name=name,
        )

    @classmethod
    def from_dict(cls, d: Mapping) -> "Skeleton":
        """Inverse of :meth:`to_dict`."""
        if not isinstance(d, Mapping):
            raise SkeletonError(f"a skeleton is a mapping with 'keypoints'; got {type(d).__name__}")
        unknown = set(d) - {"keypoints", "edges", "symmetry", "name"}
        if unknown:
            raise SkeletonError(
                f"unknown skeleton fields {sorted(unknown)}; allowed: keypoints, edges, symmetry, name"
            )
        if "keypoints" not in d:
            raise SkeletonError(f"a skeleton needs 'keypoints'; got only {', '.join(sorted(d)) or 'nothing'}")
        return cls.from_names(
            d["keypoints"],
            [tuple(e) for e in d.get("edges", ())],
            [tuple(s) for s in d.get("symmetry", ())],
            name=d.get("name", ""),
        )

    @classmethod
    def from_json(cls, text: str) -> "Skeleton":
        """Inverse of :meth:`to_json`."""
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise SkeletonError(f"not a skeleton in JSON ({exc})") from None
        return cls.from_dict(d)

    # ------------------------------------------------------------------ queries
    @property
    def n_keypoints(self) -> int:
        return len(self.keypoints)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def edge_names(self) -> list[tuple[str, str]]:
        return [(self.keypoints[a], self.keypoints[b]) for a, b in self.edges]

    @property
    def symmetry_names(self) -> list[tuple[str, str]]:
        return [(self.keypoints[a], self.keypoints[b]) for a, b in self.symmetry]

    def partners(self) -> np.ndarray:
        """``(K,)`` the left/right partner of each keypoint (itself when it has none)."""
        out = np.arange(self.n_keypoints)
        for a, b in self.symmetry:
            out[a], out[b] = b, a
        return out

    def index(self, name: str) -> int:
        """Index of keypoint ``name``; raises :class:`SkeletonError` listing the known names."""
        try:
            return self.keypoints.index(name)
        except ValueError:
            raise SkeletonError(
                f"bodypart {name!r} not in skeleton; known: {_fmt_known(list(self.keypoints))}"
            ) from None

    def indices(self, names: Iterable[str]) -> list[int]:
        return [self.index(n) for n in names]

    def flip_permutation(self) -> np.ndarray:
        """Keypoint permutation applied by a left/right mirror: ``new[k] = old[perm[k]]``."""
        perm = np.arange(self.n_keypoints)
        for a, b in self.symmetry:
            perm[a], perm[b] = b, a
        return perm

    # ------------------------------------------------------------------ transforms
    def rename(self, mapping: Mapping[str, str]) -> "Skeleton":
        """Return a copy with keypoints renamed by ``mapping`` (names not in it are kept)."""
        unknown = [k for k in mapping if k not in self.keypoints]
        if unknown:
            raise SkeletonError(
                f"cannot rename {unknown}: not in skeleton; known: {_fmt_known(list(self.keypoints))}"
            )
        return Skeleton(
            tuple(mapping.get(k, k) for k in self.keypoints), self.edges, self.symmetry, self.name
        )

    def subset(self, names: Sequence[str]) -> "Skeleton":
        """Skeleton restricted to ``names`` (in that order); edges/pairs touching others are dropped."""
        idx = self.indices(names)
        where = {old: new for new, old in enumerate(idx)}
        edges = tuple((where[a], where[b]) for a, b in self.edges if a in where and b in where)
        sym = tuple((where[a], where[b]) for a, b in self.symmetry if a in where and b in where)
        return Skeleton(tuple(names), edges, sym, self.name)

    def union(self, others: Iterable["Skeleton"]) -> "Skeleton":
        """This skeleton extended by the keypoints, edges and symmetry pairs of ``others`` that it
        lacks (matched by name; new keypoints appended in the order first met).  Used to train on
        label files that name different body parts (projects to which parts were added later)."""
        kps = list(self.keypoints)
        edges, sym = list(self.edge_names), list(self.symmetry_names)
        for other in others:
            kps += [k for k in other.keypoints if k not in kps]
            known = {frozenset(e) for e in edges}
            edges += [e for e in other.edge_names if frozenset(e) not in known]
            paired = {k for pair in sym for k in pair}
            for a, b in other.symmetry_names:
                if a in paired or b in paired:
                    if (a, b) not in sym and (b, a) not in sym:
                        raise SkeletonError(f"the skeletons disagree on left/right pairs: {a}-{b} in one, "
                                            f"{', '.join(f'{x}-{y}' for x, y in sym if {x, y} & {a, b})} in another")
                    continue
                sym.append((a, b))
                paired |= {a, b}
        return Skeleton.from_names(kps, edges, sym, self.name)

    def restricted_to(self, names: Sequence[str]) -> Optional["Skeleton"]:
        """This skeleton for data holding keypoints ``names``: itself when they are its keypoints in
        order, :meth:`subset` when they are some of them or another order (data after an xarray
        selection of keypoints), ``None`` when the data holds a keypoint it lacks (or one twice)."""
        names = [str(k) for k in names]
        if list(self.keypoints) == names:
            return self
        if set(names) <= set(self.keypoints) and len(set(names)) == len(names):
            return self.subset(names)
        return None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "keypoints": list(self.keypoints),
            "edges": [list(e) for e in self.edge_names],
            "symmetry": [list(s) for s in self.symmetry_names],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def check_same_keypoints(self, other: "Skeleton", what: str = "data") -> None:
        """Raise :class:`SkeletonError` unless ``other`` has the same keypoints in the same order."""
        if self.keypoints != other.keypoints:
            missing = [k for k in self.keypoints if k not in other.keypoints]
            extra = [k for k in other.keypoints if k not in self.keypoints]
            detail = []
            if missing:
                detail.append(f"missing {missing}")
            if extra:
                detail.append(f"unexpected {extra}")
            if not detail:
                detail.append("same names in another order")
            raise SkeletonError(f"skeleton of {what} does not match: {'; '.join(detail)}")

    @staticmethod
    def lateral_keypoints(keypoints: Sequence[str]) -> list[str]:
        """Names that look like one side of the body: ``left``/``right`` anywhere, a capital
        ``L``/``R`` not inside a capitalised word (``wingL``, ``paw1LH_top``, ``R_ear``; not
        ``obsLow``), or a lone ``l``/``r`` between separators (``ear_l``).  A mirror image turns
        such a part into its partner, so mirror augmentation needs their pairs."""
        return [k for k in keypoints if _ONE_SIDED.search(k)]

    def unpaired_lateral_keypoints(self) -> list[str]:
        """:meth:`lateral_keypoints` that no symmetry pair names."""
        paired = {i for pair in self.symmetry for i in pair}
        lateral = set(self.lateral_keypoints(self.keypoints))
        return [k for i, k in enumerate(self.keypoints) if k in lateral and i not in paired]

    @staticmethod
    def guess_symmetry(keypoints: Sequence[str]) -> list[tuple[str, str]]:
        """Guess left/right pairs from names such as ``wingL``/``wingR``, ``left_ear``/``right_ear``.

        Returns name pairs; used when a file format stores no symmetry.
        """
        out: list[tuple[str, str]] = []
        names = list(keypoints)
        rules = [
            ("L", "R", "suffix"), ("_l", "_r", "suffix"), ("_left", "_right", "suffix"),
            ("left_", "right_", "prefix"), ("left ", "right ", "prefix"), ("l_", "r_", "prefix"),
            ("Left", "Right", "prefix"), ("left", "right", "prefix"),
        ]
        used: set[str] = set()
        for n in names:
            if n in used:
                continue
            for left, right, kind in rules:
                if kind == "suffix" and n.endswith(left):
                    partner = n[: len(n) - len(left)] + right
                elif kind == "prefix" and n.startswith(left):
                    partner = right + n[len(left):]
                else:
                    continue
                if partner in names and partner not in used:
                    out.append((n, partner))
                    used.update((n, partner))
                    break
            else:
                # Names like "wingL1" / "wingR1" or "hindlegL3" / "hindlegR3".
                for i, ch in enumerate(n):
                    if ch == "L" and i > 0:
                        partner = n[:i] + "R" + n[i + 1:]
                        if partner != n and partner in names and partner not in used:
                            out.append((n, partner))
                            used.update((n, partner))
                            break
        return out


def place_keypoints(keypoints: np.ndarray, names: Sequence[str], skeleton: Skeleton, what: str = "data") -> np.ndarray:
    """Keypoints ``(..., len(names), 2)`` of body parts ``names`` placed by name in ``skeleton``'s
    order, ``(..., K, 2)``, NaN for the parts ``names`` lacks.  Raises :class:`SkeletonError` when
    ``what`` names a part the skeleton lacks."""
    extra = [k for k in names if k not in skeleton.keypoints]
    if extra:
        raise SkeletonError(f"{what} names body parts the model's skeleton lacks: {', '.join(extra)} "
                            f"(skeleton: {', '.join(skeleton.keypoints)})")
    kp = np.asarray(keypoints, dtype=np.float64)
    out = np.full(kp.shape[:-2] + (skeleton.n_keypoints, 2), np.nan)
    out[..., skeleton.indices(names), :] = kp
    return out


def tree_edges(keypoints: Sequence[np.ndarray], n_keypoints: int) -> list[tuple[int, int]]:
    """Edges linking the body parts when the labels name none: the minimum spanning tree of the
    median distance between every two keypoints over the labelled instances (``(n, K, 2)`` per
    image).  Near body parts get linked, so part-affinity fields stay short; keypoints never
    labelled together stay unlinked."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    inst = [np.asarray(k, np.float64).reshape(-1, n_keypoints, 2) for k in keypoints]
    allk = np.concatenate(inst) if inst else np.zeros((0, n_keypoints, 2))
    d = np.linalg.norm(allk[:, :, None] - allk[:, None, :], axis=-1)  # (N, K, K)
    with warnings.catch_warnings():  # pairs never labelled together: all-NaN medians, on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(d, axis=0) if len(d) else np.full((n_keypoints, n_keypoints), np.nan)
    # csgraph treats 0 as "no edge": keep co-labelled pairs strictly positive
    w = np.where(np.isfinite(med), np.maximum(med, 1e-6), 0.0)
    np.fill_diagonal(w, 0.0)
    tree = minimum_spanning_tree(w).tocoo()
    return sorted((int(min(a, b)), int(max(a, b))) for a, b in zip(tree.row, tree.col))
