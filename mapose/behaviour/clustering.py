"""Unsupervised behaviour discovery: window features -> embedding -> clusters -> per-frame labels.

The pipeline (:class:`BehaviourClusterer`, scikit-learn conventions) is the one of B-SOiD, for
single animals *and* for pairs of animals:

1. **window features** from :func:`mapose.kinematics.feature_table` (``mode="animal"``: each
   animal's egocentric features; ``mode="pair"``: social features of an ordered pair ``A|B`` plus
   both animals' own features), or feature tables you computed yourself;
2. **cleaning and scaling**: infinities -> NaN, per-column clipping to the 0.5-99.5 % quantiles of
   the training frames, NaN imputed by the training median (columns that are NaN everywhere, e.g.
   window sizes longer than a 13-frame session, become 0), standardisation;
3. optional **PCA** (``pca_components``: an int, or a variance fraction in (0, 1));
4. **UMAP** (umap-learn, seeded) on a random subsample of at most ``max_fit_frames`` frames;
5. **clustering** of the embedding: scikit-learn ``HDBSCAN`` (default; ``-1`` = noise) or a
   ``GaussianMixture`` (``clusterer="gmm"``); clusters are renumbered by size (0 = largest);
6. a fast **classifier** (histogram gradient boosting) trained on the cluster labels in feature
   space labels every frame -- training frames and new sessions alike -- so ``predict`` never
   re-runs UMAP.  Its agreement with a direct ``umap.transform`` + cluster assignment on frames
   left out of the UMAP fit is measured in ``fit`` (``agreement_``);
7. per-frame labels smoothed with a **minimum bout length** (:func:`mapose.behaviour.bouts.min_bout_filter`).

Frames where an animal (in pair mode, either animal) has no keypoint at all, even after the
feature configuration's gap filling, are not clustered: they take no part in the fit and are
labelled ``-1``, like noise (:func:`mapose.kinematics.unseen_rows`).

Outputs are tables with columns ``session``, ``frame``, ``subject``, ``cluster``; helpers here
compute cluster statistics, transition matrices / graphs and each cluster's most typical bouts.
Models are saved with :func:`save_model` in a safe format (JSON manifest + ``.npz`` arrays + the
classifier through ``skops``, loaded only with an allow-list of types) and reload with identical
labels.

Examples
--------
>>> model = BehaviourClusterer(mode="animal", seed=0)              # doctest: +SKIP
>>> model.fit([tracks1, tracks2])                                  # doctest: +SKIP
>>> table = model.predict([tracks3])                               # doctest: +SKIP
>>> save_model(model, "out/model")                                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
import pandas as pd
import xarray as xr

from mapose.behaviour.bouts import find_bouts, min_bout_filter
from mapose.config import CheckedConfig, choice
from mapose.core.tables import check_table
from mapose.errors import ConfigError, FormatError, SkeletonError, ValidationError
from mapose.io._files import check_fps

__all__ = [
    "ClusterConfig",
    "BehaviourClusterer",
    "session_features",
    "cluster_statistics",
    "cluster_profiles",
    "mirror_clusters",
    "mirror_events",
    "dyad_events",
    "transition_matrix",
    "transition_graph",
    "typical_bouts",
    "labels_for_tracks",
    "save_model",
    "load_model",
]

ID_COLUMNS = ("session", "frame", "subject")
#: Default ``exclude_features``: allocentric features and bookkeeping columns.
DEFAULT_EXCLUDE = ("centroid_x", "centroid_y", "heading_cos", "heading_sin", "missing_fraction")
#: Default ``compress_features``: heavy-tailed distances and speeds.
DEFAULT_COMPRESS = ("*dist*", "*speed*", "*acceleration*")
MODEL_FORMAT = "mapose-behaviour-clusterer"
MODEL_VERSION = 1
#: Types the saved classifier may contain (checked before ``skops`` loads anything).
TRUSTED_TYPES = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "numpy.random._pcg64.PCG64",
    "numpy.random._generator.Generator",
)

Input = Union[xr.Dataset, pd.DataFrame]


# --------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ClusterConfig(CheckedConfig):
    """Parameters of :class:`BehaviourClusterer` (the YAML of ``mapose cluster --config``).

    Attributes
    ----------
    mode
        ``"animal"`` (one subject per animal, egocentric features) or ``"pair"`` (one subject per
        ordered pair of animals, social features of both).
    windows
        Window sizes (frames) of the rolling feature statistics.
    feature_config
        Passed to :func:`mapose.kinematics.feature_table` as ``config`` (a ``FeatureConfig`` as a
        mapping; ``None`` = its defaults).
    exclude_features
        ``fnmatch`` patterns of feature columns left out, matched against the column name and the
        name without its ``a_`` / ``b_`` prefix.  The default drops allocentric features (arena
        position, absolute heading) and the missing-data fraction, so that clusters describe what
        animals do, not where they are in the arena.
    compress_features
        ``fnmatch`` patterns of heavy-tailed columns (distances, speeds) mapped through
        ``asinh(x / median|x|)`` before scaling: differences at close range (contact, sniffing)
        then weigh as much as differences between far-apart animals.
    social_weight
        Pair mode: the feature columns are standardised, then weighted so that the pair (social)
        block, A's own block (``a_*``) and B's own block (``b_*``) carry total variances in the
        ratio ``social_weight : 1 : 1`` whatever their column counts.  Animal mode: unused.
    pca_components
        ``None`` (no PCA), an int (components) or a float in (0, 1) (explained-variance fraction).
    umap_neighbors, umap_min_dist, umap_components
        UMAP ``n_neighbors``, ``min_dist`` and output dimension.
    clusterer
        ``"hdbscan"`` (label ``-1`` = noise) or ``"gmm"`` (every frame assigned).
    min_cluster_fraction
        HDBSCAN ``min_cluster_size`` as a fraction of the UMAP sample (sets the granularity).
    min_samples
        HDBSCAN ``min_samples`` (``None`` = same as the cluster size, capped at 50).
    n_clusters
        Components of the Gaussian mixture.
    noise
        ``"keep"``: the classifier also learns the noise class, so new frames can be ``-1``;
        ``"assign"``: it learns clusters only and every frame gets a cluster.
    min_bout_frames
        Minimum bout length (frames); shorter bouts take their longer neighbour's label.
    max_fit_frames
        UMAP and clustering see at most this many (randomly drawn) frames.
    classifier_iterations
        Boosting iterations of the label classifier.
    seed
        Random seed (subsampling, UMAP, GMM, classifier): same seed + same data = same labels.
    event_min_share
        Pair mode: a cluster and its mirror (the cluster seen from the partner's side) make one
        event of ``dyad_events.csv`` where the mirror is found on at least this share of the
        cluster's frames (see :func:`mirror_events`; higher: fewer clusters chained into one event).
    """

    mode: Literal["animal", "pair"] = "animal"
    windows: tuple[int, ...] = (5, 15, 45)
    feature_config: Optional[dict] = None
    exclude_features: tuple[str, ...] = DEFAULT_EXCLUDE
    compress_features: tuple[str, ...] = DEFAULT_COMPRESS
    social_weight: float = 3.0
    pca_components: Optional[float] = 0.95
    umap_neighbors: int = 30
    umap_min_dist: float = 0.0
    umap_components: int = 2
    clusterer: Literal["hdbscan", "gmm"] = "hdbscan"
    min_cluster_fraction: float = 0.05
    min_samples: Optional[int] = None
    n_clusters: int = 8
    noise: Literal["keep", "assign"] = "assign"
    min_bout_frames: int = 3
    max_fit_frames: int = 20_000
    classifier_iterations: int = 100
    seed: int = 0
    event_min_share: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        choice(self.mode, ("animal", "pair"), "mode")
        choice(self.clusterer, ("hdbscan", "gmm"), "clusterer")
        choice(self.noise, ("keep", "assign"), "noise")
        if not self.windows or any(int(w) < 1 for w in self.windows):
            raise ConfigError(f"windows must be positive frame counts, got {self.windows!r}")
        pc = self.pca_components
        if pc is not None and not (0 < pc < 1 or (pc >= 1 and float(pc).is_integer())):
            raise ConfigError(
                f"pca_components must be None, an integer >= 1 or a fraction in (0, 1); got {pc!r}"
            )
        if not self.social_weight > 0:
            raise ConfigError(f"social_weight must be > 0, got {self.social_weight}")
        if not 0 < self.min_cluster_fraction < 0.5:
            raise ConfigError(f"min_cluster_fraction must be in (0, 0.5), got {self.min_cluster_fraction}")
        for name, lo in (("umap_neighbors", 2), ("umap_components", 1), ("n_clusters", 1),
                         ("max_fit_frames", 50), ("classifier_iterations", 1), ("min_bout_frames", 1)):
            if int(getattr(self, name)) < lo:
                raise ConfigError(f"{name} must be >= {lo}, got {getattr(self, name)}")
        if int(self.seed) < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        if not 0.0 <= float(self.event_min_share) <= 1.0:
            raise ConfigError(f"event_min_share must be in [0, 1], got {self.event_min_share}")


# ------------------------------------------------------------------------------------- features
def _session_name(item: Input, i: int) -> str:
    if isinstance(item, xr.Dataset):
        src = str(item.attrs.get("source_file", "") or "")
        if src:
            return Path(src.split("#")[0]).stem + (f"#{src.split('#', 1)[1]}" if "#" in src else "")
    elif isinstance(item, pd.DataFrame) and item.attrs.get("session"):
        return str(item.attrs["session"])
    return f"session{i}"


def session_features(
    data: Sequence[Input],
    *,
    mode: str = "animal",
    windows: Sequence[int] = (5, 15, 45),
    feature_config: Optional[dict] = None,
    sessions: Optional[Sequence[str]] = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Feature table of several sessions, with a ``session`` column.

    Parameters
    ----------
    data
        ``Tracks`` datasets (features computed by :func:`mapose.kinematics.feature_table`) or
        feature tables (columns ``frame``, ``subject`` and float features; ``session`` optional).
    mode, windows, feature_config
        Passed to :func:`mapose.kinematics.feature_table` for ``Tracks``.
    sessions
        Session names (default: the Tracks' source file stem, or ``session<i>``).

    Returns
    -------
    pandas.DataFrame
        Columns ``session``, ``frame``, ``subject`` and the feature columns, sessions in order.
    """
    if isinstance(data, (xr.Dataset, pd.DataFrame)):
        data = [data]
    data = list(data)
    if not data:
        raise ValidationError("no sessions given; expected at least one Tracks or feature table")
    if sessions is not None and len(sessions) != len(data):
        raise ValidationError(f"{len(data)} sessions but {len(sessions)} session names")
    names = list(sessions) if sessions is not None else [_session_name(d, i) for i, d in enumerate(data)]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValidationError(f"duplicated session names {dup[:5]}; give unique names")
    tables = []
    iterator = zip(names, data)
    if progress and len(data) > 20:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(data), desc="features", unit="session")
    for name, item in iterator:
        if isinstance(item, xr.Dataset):
            try:
                from mapose.kinematics import check_feature_input, feature_table
            except ImportError as exc:  # pragma: no cover - kinematics is part of mapose
                raise ValidationError(f"mapose.kinematics.feature_table is not available ({exc})") from None
            check_feature_input(item, f"session {name!r}", mode=mode)
            kwargs: dict[str, Any] = {"mode": mode, "windows": tuple(int(w) for w in windows)}
            if feature_config is not None:
                from mapose.config import from_dict
                from mapose.kinematics import FeatureConfig

                kwargs["config"] = (feature_config if isinstance(feature_config, FeatureConfig)
                                    else from_dict(FeatureConfig, feature_config))
            table = feature_table(item, **kwargs)
        elif isinstance(item, pd.DataFrame):
            table = item
        else:
            raise ValidationError(
                f"session {name!r} is a {type(item).__name__}; expected a Tracks dataset or a feature table"
            )
        missing = [c for c in ("frame", "subject") if c not in table.columns]
        if missing:
            raise ValidationError(f"feature table of session {name!r} lacks columns {missing}")
        table = table.drop(columns=["session"], errors="ignore")
        table.insert(0, "session", name)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True, sort=False)
    out["frame"] = out["frame"].astype(np.int64)
    out["subject"] = out["subject"].astype(str)
    return out


def _feature_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in ID_COLUMNS and pd.api.types.is_numeric_dtype(table[c])]


def _skeleton_keypoints(data: Sequence[Input]) -> Optional[list[str]]:
    for item in data:
        if isinstance(item, xr.Dataset):
            return [str(k) for k in item["keypoints"].values]
    return None


def _units(item: xr.Dataset) -> tuple[str, Optional[float]]:
    """(space unit, frame rate or None) of a Tracks session."""
    fps = item.attrs.get("fps")
    return str(item.attrs.get("space_unit", "px")), (float(fps) if fps else None)


def _check_sessions_agree(data: Sequence[Input]) -> tuple[Optional[str], Optional[float]]:
    """The Tracks sessions of one fit must share keypoints, space unit and frame rate: features are
    measured in that unit and windows count frames.  Returns (unit, fps), None where unknown."""
    tracks = [(i, d) for i, d in enumerate(data) if isinstance(d, xr.Dataset)]
    if not tracks:
        return None, None
    i0, first = tracks[0]
    kps, (unit, fps) = [str(k) for k in first["keypoints"].values], _units(first)
    for i, item in tracks[1:]:
        pair = f"sessions {_session_name(first, i0)!r} and {_session_name(item, i)!r}"
        other = [str(k) for k in item["keypoints"].values]
        if sorted(other) != sorted(kps):
            raise SkeletonError(f"{pair} have different body parts ({', '.join(kps)} vs {', '.join(other)}); "
                                "cluster sessions of one skeleton (rename the body parts of one to match)")
        u, f = _units(item)
        if u != unit:
            raise ConfigError(f"{pair} are in {unit} and {u}; calibrate all or none (mapose.kinematics.calibrate)")
        if f and fps and abs(f / fps - 1) > 0.01:
            raise ConfigError(f"{pair} run at {fps:g} and {f:g} fps; feature windows count frames, so cluster "
                              "them separately or resample")
        fps = fps or f
    return unit, fps


# ------------------------------------------------------------------------------------ estimator
class BehaviourClusterer:
    """Discover behaviours without labels: features -> UMAP -> clusters -> classifier -> labels.

    Parameters are those of :class:`ClusterConfig` (see there).  Learned state (trailing ``_``):

    - ``feature_names_``: feature columns used, in order;
    - ``keypoints_``: keypoints of the training skeleton (new Tracks must have them all);
    - ``space_unit_``, ``fps_``: unit and frame rate of the training Tracks (new Tracks must match;
      None where the sessions were feature tables or gave no frame rate);
    - ``clip_low_``, ``clip_high_``, ``median_``, ``mean_``, ``scale_``: cleaning and scaling;
    - ``pca_components_``, ``pca_mean_``: PCA projection (empty when no PCA);
    - ``umap_``: the fitted UMAP (not saved; ``None`` after :func:`load_model`);
    - ``embedding_``, ``embedding_labels_``, ``fit_rows_``: UMAP sample (2-D points, raw cluster
      labels, row numbers in ``features_``);
    - ``clusters_``: cluster ids (0 = largest); ``centers_``: their centres in reduced feature
      space (rows follow ``clusters_``);
    - ``classifier_``: the label classifier; ``agreement_``: its agreement with a direct
      ``umap.transform`` + cluster assignment on frames left out of the UMAP fit;
    - ``labels_``: table ``session, frame, subject, cluster`` of the training sessions;
    - ``features_``: the training feature table (id columns + features).
    """

    def __init__(
        self,
        mode: str = "animal",
        windows: Sequence[int] = (5, 15, 45),
        feature_config: Optional[dict] = None,
        exclude_features: Sequence[str] = DEFAULT_EXCLUDE,
        compress_features: Sequence[str] = DEFAULT_COMPRESS,
        social_weight: float = 3.0,
        pca_components: Optional[float] = 0.95,
        umap_neighbors: int = 30,
        umap_min_dist: float = 0.0,
        umap_components: int = 2,
        clusterer: str = "hdbscan",
        min_cluster_fraction: float = 0.05,
        min_samples: Optional[int] = None,
        n_clusters: int = 8,
        noise: str = "assign",
        min_bout_frames: int = 3,
        max_fit_frames: int = 20_000,
        classifier_iterations: int = 100,
        seed: int = 0,
        event_min_share: float = 0.5,
    ):
        self.mode = mode
        self.windows = windows
        self.feature_config = feature_config
        self.exclude_features = exclude_features
        self.compress_features = compress_features
        self.social_weight = social_weight
        self.pca_components = pca_components
        self.umap_neighbors = umap_neighbors
        self.umap_min_dist = umap_min_dist
        self.umap_components = umap_components
        self.clusterer = clusterer
        self.min_cluster_fraction = min_cluster_fraction
        self.min_samples = min_samples
        self.n_clusters = n_clusters
        self.noise = noise
        self.min_bout_frames = min_bout_frames
        self.max_fit_frames = max_fit_frames
        self.classifier_iterations = classifier_iterations
        self.seed = seed
        self.event_min_share = event_min_share

    # -- config -----------------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        """Parameters as a dict (scikit-learn convention)."""
        import dataclasses

        return {f.name: getattr(self, f.name) for f in dataclasses.fields(ClusterConfig)}

    def set_params(self, **params: Any) -> "BehaviourClusterer":
        """Set parameters (scikit-learn convention); unknown names raise :class:`ConfigError`."""
        allowed = self.get_params()
        for k, v in params.items():
            if k not in allowed:
                raise ConfigError(f"unknown parameter {k!r}; allowed: {', '.join(sorted(allowed))}")
            setattr(self, k, v)
        return self

    @property
    def config(self) -> ClusterConfig:
        """The parameters, checked, as a :class:`ClusterConfig`."""
        p = self.get_params()
        from mapose.kinematics.windows import check_windows

        p["windows"] = check_windows(p["windows"])
        p["exclude_features"] = tuple(str(w) for w in p["exclude_features"])
        p["compress_features"] = tuple(str(w) for w in p["compress_features"])
        return ClusterConfig(**p)

    @classmethod
    def from_config(cls, cfg: ClusterConfig) -> "BehaviourClusterer":
        """Build an unfitted clusterer from a :class:`ClusterConfig`."""
        import dataclasses

        return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})

    # -- preprocessing ----------------------------------------------------------------------
    def _matrix(self, table: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names_ if c not in table.columns]
        if missing:
            raise ValidationError(
                f"feature table lacks {len(missing)} feature(s) the model was trained on: "
                f"{', '.join(missing[:8])}{', …' if len(missing) > 8 else ''}"
            )
        x = table[self.feature_names_].to_numpy(dtype=np.float64, copy=True)
        x[~np.isfinite(x)] = np.nan
        return x

    def _reduce(self, x: np.ndarray) -> np.ndarray:
        """Clean, scale and project a raw feature matrix (rows = frames)."""
        x = self._compress(x)
        x = np.clip(x, self.clip_low_, self.clip_high_)
        x = np.where(np.isnan(x), self.median_, x)
        x = (x - self.mean_) / self.scale_ * self.weights_
        if self.pca_components_.size:
            x = (x - self.pca_mean_) @ self.pca_components_.T
        return x

    def _compress(self, x: np.ndarray) -> np.ndarray:
        if self.compress_scale_.size and np.any(self.compress_scale_ > 0):
            cols = self.compress_scale_ > 0
            x = x.copy()
            x[:, cols] = np.arcsinh(x[:, cols] / self.compress_scale_[cols])
        return x

    def _select_features(self, columns: Sequence[str]) -> list[str]:
        import fnmatch

        def base(name: str) -> str:
            return name[2:] if self.mode == "pair" and name[:2] in ("a_", "b_") else name

        pats = list(self.exclude_features)
        return [c for c in columns
                if not any(fnmatch.fnmatchcase(c, p) or fnmatch.fnmatchcase(base(c), p) for p in pats)]

    def _fit_preprocessing(self, x: np.ndarray) -> np.ndarray:
        import fnmatch

        names = self.feature_names_
        comp = np.array([any(fnmatch.fnmatchcase(n, p) for p in self.compress_features) for n in names],
                        dtype=bool)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mad = np.nanmedian(np.abs(x), axis=0)
        self.compress_scale_ = np.where(comp & np.isfinite(mad) & (mad > 0), mad, 0.0)
        x = self._compress(x)
        if self.mode == "pair":
            block = np.array([0 if n.startswith("a_") else 1 if n.startswith("b_") else 2
                              for n in names])
            share = np.array([1.0, 1.0, float(self.social_weight)])
        else:
            block = np.zeros(len(names), dtype=int)
            share = np.array([1.0])
        counts = np.bincount(block, minlength=len(share)).astype(float)
        self.weights_ = np.sqrt(share[block] / counts[block] * len(names) / share[np.unique(block)].sum())
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo = np.nanquantile(x, 0.005, axis=0)
                hi = np.nanquantile(x, 0.995, axis=0)
                med = np.nanmedian(x, axis=0)
        all_nan = np.isnan(med)
        self.clip_low_ = np.where(all_nan, 0.0, lo)
        self.clip_high_ = np.where(all_nan, 0.0, hi)
        self.median_ = np.where(all_nan, 0.0, med)
        x = np.clip(x, self.clip_low_, self.clip_high_)
        x = np.where(np.isnan(x), self.median_, x)
        self.mean_ = x.mean(axis=0)
        sd = x.std(axis=0)
        self.scale_ = np.where(sd > 1e-12, sd, 1.0)
        x = (x - self.mean_) / self.scale_ * self.weights_
        pc = self.pca_components
        self.pca_components_ = np.zeros((0, x.shape[1]))
        self.pca_mean_ = np.zeros(x.shape[1])
        if pc is not None and x.shape[1] > 1:
            from sklearn.decomposition import PCA

            n = int(pc) if pc >= 1 else float(pc)
            if isinstance(n, int):
                n = min(n, x.shape[1], x.shape[0])
            sample = x
            if x.shape[0] > 200_000:
                rng = np.random.default_rng(self.seed)
                sample = x[rng.choice(x.shape[0], 200_000, replace=False)]
            pca = PCA(n_components=n, svd_solver="full", random_state=self.seed).fit(sample)
            self.pca_components_ = pca.components_
            self.pca_mean_ = pca.mean_
            x = (x - self.pca_mean_) @ self.pca_components_.T
        return x

    # -- fit / predict ----------------------------------------------------------------------
    def fit(self, data: Sequence[Input], sessions: Optional[Sequence[str]] = None,
            progress: bool = False) -> "BehaviourClusterer":
        """Learn the embedding, the clusters and the label classifier from training sessions.

        Parameters
        ----------
        data
            ``Tracks`` datasets or feature tables (see :func:`session_features`).
        sessions
            Session names (default: source file stems).
        progress
            Show progress bars.

        Returns
        -------
        self
        """
        cfg = self.config
        items = data if isinstance(data, (list, tuple)) else [data]
        self.keypoints_ = _skeleton_keypoints(items)
        self.space_unit_, self.fps_ = _check_sessions_agree(items)
        table = session_features(data, mode=cfg.mode, windows=cfg.windows,
                                 feature_config=cfg.feature_config, sessions=sessions,
                                 progress=progress)
        self.feature_names_ = self._select_features(_feature_columns(table))
        if not self.feature_names_:
            raise ValidationError("the feature table has no numeric feature columns")
        from mapose.kinematics import unseen_rows

        unseen = unseen_rows(table)  # frames where the animal (or one of the pair) is not seen at all
        seen_rows = np.flatnonzero(~unseen)
        n = len(seen_rows)
        if n < 20:
            raise ValidationError(f"only {n} frames to cluster" + (
                f" ({int(unseen.sum())} more where an animal is not seen at all)" if unseen.any() else "")
                + "; expected at least 20")
        x = self._matrix(table)
        self._fit_preprocessing(x[seen_rows])  # what an unseen animal does is unknown: learn from the rest
        z = self._reduce(x)

        rng = np.random.default_rng(cfg.seed)
        n_fit = min(cfg.max_fit_frames, n if n < 200 else int(np.ceil(0.9 * n)))
        order = seen_rows[rng.permutation(n)]
        fit_rows = np.sort(order[:n_fit])
        held_rows = np.sort(order[n_fit:n_fit + 2000])

        import umap

        k = min(cfg.umap_neighbors, n_fit - 1)
        # exact neighbours from scikit-learn (BLAS / trees) instead of umap's own search: as
        # fast, deterministic, and it spares the numba compilation of pynndescent
        index = _ExactKnnIndex(z[fit_rows])
        knn_idx, knn_dist = index.query(z[fit_rows], k)
        reducer = umap.UMAP(
            n_neighbors=k,
            min_dist=cfg.umap_min_dist,
            n_components=cfg.umap_components,
            random_state=cfg.seed,
            precomputed_knn=(knn_idx, knn_dist, index),
            force_approximation_algorithm=True,  # use the neighbours above at every size
            n_jobs=1,  # a seed forces one thread anyway; saying so avoids umap's warning
        )
        import warnings

        with warnings.catch_warnings():
            # umap warns that transform needs an NNDescent index; ours serves transform as well
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
            emb = reducer.fit_transform(z[fit_rows]).astype(np.float64)
        raw = self._cluster(emb, cfg)
        # renumber clusters by size (0 = largest), noise stays -1
        ids, counts = np.unique(raw[raw >= 0], return_counts=True)
        rank = ids[np.lexsort((ids, -counts))]
        remap = {int(old): new for new, old in enumerate(rank)}
        emb_labels = np.array([remap.get(int(v), -1) for v in raw], dtype=np.int64)
        self.clusters_ = np.arange(len(rank), dtype=np.int64)
        self.umap_ = reducer
        self.embedding_ = emb
        self.embedding_labels_ = emb_labels
        self.fit_rows_ = fit_rows
        zf = z[fit_rows]
        self.centers_ = np.array([zf[emb_labels == c].mean(axis=0) for c in self.clusters_]) \
            if len(self.clusters_) else np.zeros((0, z.shape[1]))

        train = emb_labels >= 0 if cfg.noise == "assign" else np.ones(len(emb_labels), bool)
        self.classifier_ = self._train_classifier(zf[train], emb_labels[train], cfg)
        self.agreement_ = float("nan")
        if held_rows.size:
            direct = self._direct_assign(z[held_rows])
            via_clf = self._classify(z[held_rows])
            self.agreement_ = float(np.mean(direct == via_clf))
        self.n_fit_frames_ = int(n_fit)
        self.noise_fraction_ = float(np.mean(emb_labels < 0))
        self.features_ = table
        self.labels_ = self._label_table(table, self._classify(z), unseen)
        self.reduced_ = z
        return self

    def _cluster(self, emb: np.ndarray, cfg: ClusterConfig) -> np.ndarray:
        if cfg.clusterer == "gmm":
            from sklearn.mixture import GaussianMixture

            k = min(cfg.n_clusters, len(emb))
            gmm = GaussianMixture(n_components=k, covariance_type="full", random_state=cfg.seed,
                                  n_init=1).fit(emb)
            self.gmm_ = gmm
            return gmm.predict(emb)
        from sklearn.cluster import HDBSCAN

        size = max(5, int(round(cfg.min_cluster_fraction * len(emb))))
        ms = cfg.min_samples if cfg.min_samples is not None else min(size, 50)
        return HDBSCAN(min_cluster_size=size, min_samples=int(ms), copy=True).fit_predict(emb)

    def _train_classifier(self, z: np.ndarray, y: np.ndarray, cfg: ClusterConfig):
        from sklearn.ensemble import HistGradientBoostingClassifier

        if len(np.unique(y)) < 2:
            return _ConstantClassifier(int(y[0]) if len(y) else -1)
        clf = HistGradientBoostingClassifier(
            max_iter=cfg.classifier_iterations, learning_rate=0.1, max_leaf_nodes=31,
            early_stopping=len(y) > 2000, validation_fraction=0.1, n_iter_no_change=10,
            random_state=cfg.seed,
        )
        return clf.fit(z, y)

    def _classify(self, z: np.ndarray) -> np.ndarray:
        if len(z) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self.classifier_.predict(z), dtype=np.int64)

    def _direct_assign(self, z: np.ndarray) -> np.ndarray:
        """Labels by ``umap.transform`` then the cluster model (GMM) or the 15 nearest
        embedded training frames (HDBSCAN, majority vote; noise only under ``noise='keep'``)."""
        if getattr(self, "umap_", None) is None:
            raise ValidationError(
                "this model was loaded from disk without its UMAP; direct transform is not available "
                "(use the classifier, method='classifier')"
            )
        emb = self.umap_.transform(z).astype(np.float64)
        if self.clusterer == "gmm":
            raw = self.gmm_.predict(emb)
            # map raw GMM components onto size-ranked ids through the training embedding
            mapping = {}
            raw_train = self.gmm_.predict(self.embedding_)
            for r in np.unique(raw_train):
                mapping[int(r)] = int(np.bincount(self.embedding_labels_[raw_train == r]).argmax())
            return np.array([mapping.get(int(r), -1) for r in raw], dtype=np.int64)
        from sklearn.neighbors import KNeighborsClassifier

        keep = self.embedding_labels_ >= 0 if self.noise == "assign" else slice(None)
        ref, lab = self.embedding_[keep], self.embedding_labels_[keep]
        if len(np.unique(lab)) < 2:
            return np.full(len(z), lab[0] if len(lab) else -1, dtype=np.int64)
        knn = KNeighborsClassifier(n_neighbors=min(15, len(ref))).fit(ref, lab)
        return knn.predict(emb).astype(np.int64)

    def _label_table(self, table: pd.DataFrame, labels: np.ndarray, unseen: Optional[np.ndarray] = None
                     ) -> pd.DataFrame:
        """Labels smoothed per sequence; ``-1`` where the animal is not seen (``unseen``, after smoothing)."""
        out = table[list(ID_COLUMNS)].copy()
        out["cluster"] = labels.astype(np.int64)
        hide = np.zeros(len(out), bool) if unseen is None else np.asarray(unseen, bool)
        if self.min_bout_frames > 1 and len(out):
            # smooth each (session, subject) sequence in frame order; frames never cross sessions
            out = out.sort_values(["session", "subject", "frame"], kind="stable")
            key = out["session"].astype(str) + "\x00" + out["subject"].astype(str)
            vals = out["cluster"].to_numpy().copy()
            codes, uniq = pd.factorize(key, sort=False)
            bounds = np.flatnonzero(np.diff(codes)) + 1
            for seg in np.split(np.arange(len(vals)), bounds):
                vals[seg] = min_bout_filter(vals[seg], int(self.min_bout_frames))
            out["cluster"] = vals
            out = out.sort_index()
        out = out.reset_index(drop=True)
        if hide.any():  # rows are in the table's order again
            out.loc[hide, "cluster"] = -1
        return out

    def _check_skeleton(self, data: Sequence[Input]) -> None:
        for i, item in enumerate(data):
            if not isinstance(item, xr.Dataset):
                continue
            unit, fps = _units(item)
            if getattr(self, "space_unit_", None) and unit != self.space_unit_:
                raise ConfigError(f"session {_session_name(item, i)!r} is in {unit} but the model was fitted in "
                                  f"{self.space_unit_}: its distances and speeds would be misread")
            if getattr(self, "fps_", None) and fps and abs(fps / self.fps_ - 1) > 0.01:
                raise ConfigError(f"session {_session_name(item, i)!r} runs at {fps:g} fps but the model was fitted at "
                                  f"{self.fps_:g} fps: its windows (frames) would cover other durations")
            if getattr(self, "keypoints_", None):
                have = {str(k) for k in item["keypoints"].values}
                missing = [k for k in self.keypoints_ if k not in have]
                if missing:
                    raise SkeletonError(
                        f"session {_session_name(item, i)!r} lacks keypoint(s) {', '.join(missing)} "
                        f"that the model was trained on; it has {', '.join(sorted(have))}"
                    )

    def transform(self, data: Sequence[Input], sessions: Optional[Sequence[str]] = None
                  ) -> tuple[pd.DataFrame, np.ndarray]:
        """Feature table and reduced (scaled, PCA) feature matrix of new sessions."""
        self._check_fitted()
        data = [data] if isinstance(data, (xr.Dataset, pd.DataFrame)) else list(data)
        self._check_skeleton(data)
        table = session_features(data, mode=self.mode, windows=self.windows,
                                 feature_config=self.feature_config, sessions=sessions)
        return table, self._reduce(self._matrix(table))

    def predict(self, data: Sequence[Input], sessions: Optional[Sequence[str]] = None,
                method: str = "classifier", return_reduced: bool = False, return_features: bool = False):
        """Label new sessions.

        Parameters
        ----------
        data
            ``Tracks`` datasets or feature tables.
        sessions
            Session names.
        method
            ``"classifier"`` (fast, the default, available after loading) or ``"transform"``
            (``umap.transform`` + cluster assignment; only on a model fitted in this process).

        return_reduced
            Also return the reduced feature matrix (rows aligned with the table), e.g. for
            :func:`typical_bouts`.
        return_features
            Also return the feature table the labels were made from (for :func:`cluster_profiles`).

        Returns
        -------
        pandas.DataFrame
            Columns ``session``, ``frame``, ``subject``, ``cluster`` (``-1`` = noise or not seen); with
            ``return_reduced`` and/or ``return_features`` a tuple ``(labels, reduced, features)``
            holding what was asked for, in that order.
        """
        choice(method, ("classifier", "transform"), "method")
        table, z = self.transform(data, sessions)
        labels = self._classify(z) if method == "classifier" else self._direct_assign(z)
        from mapose.kinematics import unseen_rows

        out = self._label_table(table, labels, unseen_rows(table))
        extras = ([z] if return_reduced else []) + ([table] if return_features else [])
        return (out, *extras) if extras else out

    def _check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise ValidationError("this BehaviourClusterer is not fitted; call fit() or load_model() first")

    @property
    def n_clusters_(self) -> int:
        """Number of clusters found (noise excluded)."""
        return int(len(self.clusters_))


class _ExactKnnIndex:
    """Exact nearest neighbours (scikit-learn) with the ``query`` interface umap's ``transform``
    expects of a search index."""

    _angular_trees = False

    def __init__(self, data: np.ndarray):
        from sklearn.neighbors import NearestNeighbors

        self._nn = NearestNeighbors().fit(data)

    def query(self, x: np.ndarray, k: int, epsilon: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        dist, idx = self._nn.kneighbors(x, n_neighbors=int(k))
        return idx.astype(np.int32), dist.astype(np.float32)


class _ConstantClassifier:
    """Stand-in classifier when clustering found a single class."""

    def __init__(self, label: int):
        self.label = int(label)

    def predict(self, z: np.ndarray) -> np.ndarray:
        return np.full(len(z), self.label, dtype=np.int64)


# -------------------------------------------------------------------------------- outputs
def cluster_statistics(labels: pd.DataFrame, fps: Optional[float] = None) -> pd.DataFrame:
    """Per subject and cluster: frequency, number of bouts and mean bout duration.

    Parameters
    ----------
    labels
        Table with columns ``session``, ``frame``, ``subject``, ``cluster``.
    fps
        Frames per second; when given, ``mean_bout_s`` and ``total_s`` (seconds) are added.

    Returns
    -------
    pandas.DataFrame
        One row per (subject, cluster) plus ``subject == "all"`` rows: ``frames``, ``fraction``
        (of that subject's frames), ``bouts``, ``mean_bout_frames``, ``bouts_per_1000_frames``.
    """
    _check_label_table(labels)
    fps = check_fps(fps or None, "cluster_statistics")  # 0 means unknown, as in files
    rows = []
    bouts = _bouts_table(labels)
    for subject, grp in list(labels.groupby("subject", sort=True)) + [("all", labels)]:
        b = bouts if subject == "all" else bouts[bouts["subject"] == subject]
        total = len(grp)
        counts = grp["cluster"].value_counts()
        for c in sorted(counts.index):
            bc = b[b["label"] == c]
            rows.append({
                "subject": subject, "cluster": int(c), "frames": int(counts[c]),
                "fraction": counts[c] / total, "bouts": len(bc),
                "mean_bout_frames": float(bc["length"].mean()) if len(bc) else float("nan"),
                "bouts_per_1000_frames": 1000.0 * len(bc) / total,
            })
    out = pd.DataFrame(rows, columns=["subject", "cluster", "frames", "fraction", "bouts",
                                      "mean_bout_frames", "bouts_per_1000_frames"])
    if fps:
        out["mean_bout_s"] = out["mean_bout_frames"] / fps
        out["total_s"] = out["frames"] / fps
    return out


#: Columns :func:`cluster_profiles` leaves out by default: rolling-window statistics, egocentric
#: keypoint coordinates, positions in the frame and bookkeeping (a pair's ``a_`` / ``b_`` copies too).
PROFILE_EXCLUDE = (r"_(mean|std|min|max)_\d+$", r"^(a_|b_)?ego_", r"^(a_|b_)?centroid_[xy]$",
                   r"^(a_|b_)?heading_(cos|sin)$", r"^(a_|b_)?missing_fraction$", r"^partner_[xy]$")


def cluster_profiles(labels: pd.DataFrame, features: pd.DataFrame, columns: Optional[Sequence[str]] = None,
                     column: str = "cluster") -> pd.DataFrame:
    """What each cluster is, in the features' own units: its typical value of each feature, and how
    far that sits from all frames.

    Parameters
    ----------
    labels
        Table with ``session``, ``frame``, ``subject`` and ``column`` (``-1`` = noise).
    features
        The feature table the labels were made from (``session``, ``frame``, ``subject`` and feature
        columns: ``BehaviourClusterer.features_`` or :func:`session_features`).
    columns
        Features to describe (default: every numeric per-frame feature except those matching
        :data:`PROFILE_EXCLUDE`).
    column
        The label column.

    Returns
    -------
    pandas.DataFrame
        One row per (label, feature): ``frames`` of the label, ``value`` (the median over its frames;
        for a feature with two values, such as ``contact``, the mean: the share of frames), ``overall``
        (the same over all labelled frames) and ``score`` = (value - overall) / spread, the spread being
        1.4826 x the median absolute deviation over all frames (the standard deviation where that is
        0), so +-1 is a typical frame-to-frame difference.
    """
    import re

    _check_label_table(labels.rename(columns={column: "cluster"}) if column != "cluster" else labels)
    check_table(features, "the feature table", ID_COLUMNS, "BehaviourClusterer.features_ or session_features")
    if columns is None:
        columns = [c for c in _feature_columns(features)
                   if not any(re.search(p, c) for p in PROFILE_EXCLUDE)]
    else:
        unknown = [c for c in columns if c not in features.columns]
        if unknown:
            raise ValidationError(f"feature(s) {unknown[:5]} are not in the feature table; it has "
                                  f"{', '.join(_feature_columns(features)[:12])} ...")
        columns = list(columns)
    if not columns:
        raise ValidationError("no feature columns to describe the clusters with")
    key = list(ID_COLUMNS)
    left = labels[key + [column]].assign(session=lambda d: d["session"].astype(str),
                                          subject=lambda d: d["subject"].astype(str))
    right = features[key + columns].assign(session=lambda d: d["session"].astype(str),
                                           subject=lambda d: d["subject"].astype(str))
    table = left.merge(right, on=key, how="inner", validate="one_to_one")
    if table.empty:
        raise ValidationError("no labelled frame is in the feature table (sessions, frames or subjects differ)")
    rows = []
    groups = table.groupby(column, sort=True).indices
    for feat in columns:
        x = table[feat].to_numpy(dtype=np.float64)
        ok = np.isfinite(x)
        if not ok.any():
            continue
        binary = len(np.unique(x[ok])) <= 2
        centre = np.mean if binary else np.median
        overall = float(centre(x[ok]))
        spread = 1.4826 * float(np.median(np.abs(x[ok] - np.median(x[ok]))))
        if not spread > 0:
            spread = float(np.std(x[ok]))
        for lab, idx in groups.items():
            v = x[idx]
            v = v[np.isfinite(v)]
            value = float(centre(v)) if len(v) else float("nan")
            rows.append({column: int(lab), "feature": feat, "frames": int(len(idx)), "value": value,
                         "overall": overall,
                         "score": (value - overall) / spread if spread > 0 else 0.0})
    return pd.DataFrame(rows, columns=[column, "feature", "frames", "value", "overall", "score"])


def mirror_clusters(labels: pd.DataFrame, column: str = "cluster") -> pd.DataFrame:
    """Which cluster each pair cluster is seen as from the partner's side.

    In pair mode each frame of two animals gives two rows, ``A|B`` (A's behaviour towards B) and
    ``B|A``. One event, say A following B, is then usually two clusters: "following" on ``A|B`` and
    "being followed" on ``B|A``. This table pairs them up: for every frame of a cluster, the label of
    the same frame seen from the other animal.

    Parameters
    ----------
    labels
        Pair-mode label table (``session``, ``frame``, ``subject`` = ``A|B``, ``column``).
    column
        The label column.

    Returns
    -------
    pandas.DataFrame
        One row per label (``-1`` = noise included): ``frames`` (its frames that have a mirror row),
        ``mirror`` (the label most often found on the mirror row), ``share`` (the fraction of those
        frames with that label), ``symmetric`` (``mirror`` is the label itself: a behaviour both
        animals show at once, such as resting apart).

    Raises
    ------
    ValidationError
        The table is not a pair-mode table (no ``A|B`` subjects) or no row has its mirror row.
    """
    _check_label_table(labels.rename(columns={column: "cluster"}) if column != "cluster" else labels)
    subject = labels["subject"].astype(str)
    parts = subject.str.partition("|")
    if not (parts[1] == "|").all():
        odd = sorted(subject[parts[1] != "|"].unique())[:3]
        raise ValidationError(f"mirror clusters need a pair-mode label table (subjects 'A|B'); "
                              f"found subject(s) {odd}")
    rows = pd.DataFrame({"session": labels["session"].astype(str).to_numpy(),
                         "frame": labels["frame"].to_numpy(),
                         "subject": subject.to_numpy(), "label": labels[column].to_numpy()})
    mirror = rows.assign(subject=(parts[2] + "|" + parts[0]).to_numpy()).rename(columns={"label": "other"})
    both = rows.merge(mirror, on=["session", "frame", "subject"], how="inner", validate="one_to_one")
    if both.empty:
        raise ValidationError("no row of the label table has its mirror row (B|A at the same frame as A|B)")
    counts = pd.crosstab(both["label"], both["other"])
    out = []
    for lab, row in counts.iterrows():
        total = int(row.sum())
        best = row.sort_values(ascending=False, kind="stable")
        # on a tie prefer the label itself, then the lowest label (crosstab columns are sorted)
        top = best.index[0]
        if lab in row.index and row[lab] == best.iloc[0]:
            top = lab
        out.append({column: int(lab), "frames": total, "mirror": int(top),
                    "share": float(row[top]) / total, "symmetric": bool(top == lab)})
    return pd.DataFrame(out, columns=[column, "frames", "mirror", "share", "symmetric"])


def _natural_key(name: str) -> list:
    import re

    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(name)) if t]


def mirror_events(mirrors: pd.DataFrame, min_share: float = 0.5, column: str = "cluster") -> pd.DataFrame:
    """Group pair clusters into events: a cluster and its mirror (see :func:`mirror_clusters`) are
    one event seen from its two sides.

    Clusters are linked to their mirror where the mirror is found on at least ``min_share`` of their
    frames; each connected group is an event, numbered by its lowest cluster. A symmetric cluster (its
    own mirror) is an event of one cluster. Noise (``-1``) is in no event.

    Returns
    -------
    pandas.DataFrame
        One row per event: ``event``, ``clusters`` (sorted tuple), ``name`` (``"0 ↔ 1"``, or ``"2"``
        for an event of one cluster).
    """
    if not 0.0 <= float(min_share) <= 1.0:
        raise ValidationError(f"min_share must be in [0, 1], got {min_share}")
    check_table(mirrors, "the mirrors table", (column, "mirror", "share"), "mirror_clusters")
    import networkx as nx

    graph = nx.Graph()
    for r in mirrors.itertuples(index=False):
        c, m = int(getattr(r, column)), int(r.mirror)
        if c < 0:
            continue
        graph.add_node(c)
        if m >= 0 and float(r.share) >= min_share:
            graph.add_edge(c, m)
    groups = sorted(tuple(sorted(g)) for g in nx.connected_components(graph))
    return pd.DataFrame({"event": [g[0] for g in groups], "clusters": groups,
                         "name": [" ↔ ".join(str(c) for c in g) for g in groups]},
                        columns=["event", "clusters", "name"])


def dyad_events(labels: pd.DataFrame, mirrors: Optional[pd.DataFrame] = None, min_share: float = 0.5,
                column: str = "cluster") -> pd.DataFrame:
    """One label per pair of animals and frame: what the pair does, with who plays which part.

    Pair mode labels each frame twice, ``A|B`` and ``B|A``. Here both rows become one row of the
    unordered pair ``A&B``: its ``event`` (:func:`mirror_events`: a cluster and its mirror are one
    event) and its ``actor``, the animal whose own row is in the event's lowest-numbered cluster, so the
    one that cluster's profile describes (in "0 ↔ 1", where 0 is "behind the other, fast", the
    follower).

    Parameters
    ----------
    labels
        Pair-mode label table (``session``, ``frame``, ``subject`` = ``A|B``, ``column``).
    mirrors
        :func:`mirror_clusters` of ``labels`` (computed when ``None``).
    min_share, column
        See :func:`mirror_events` and :func:`mirror_clusters`.

    Returns
    -------
    pandas.DataFrame
        Columns ``session``, ``frame``, ``subject`` (``A&B``, the two names in natural order:
        ``individual_2`` before ``individual_10``), ``event`` (``-1``: no single event, as one row is
        noise, the two rows are in different events or the mirror row is missing), ``actor`` (``""``
        where both rows are in one cluster or there is no event), ``cluster_a`` (the ``A|B`` row's
        label) and ``cluster_b`` (``B|A``'s; ``-1`` where missing). ``attrs["events"]`` is the
        :func:`mirror_events` table.
    """
    check_table(labels, "the label table", ("session", "frame", "subject", column), "BehaviourClusterer.labels_")
    if mirrors is None:
        mirrors = mirror_clusters(labels, column=column)
    events = mirror_events(mirrors, min_share=min_share, column=column)
    event_of = {int(c): int(e) for e, cl in zip(events["event"], events["clusters"]) for c in cl}
    subject = labels["subject"].astype(str)
    parts = subject.str.partition("|")
    if not (parts[1] == "|").all():
        raise ValidationError("dyad events need a pair-mode label table (subjects 'A|B')")
    # the animals in natural order (individual_2 before individual_10), whatever the order of the rows
    names = sorted(pd.unique(pd.concat([parts[0], parts[2]], ignore_index=True)), key=_natural_key)
    order = {name: i for i, name in enumerate(names)}
    first = np.array([order[a] < order[b] for a, b in zip(parts[0], parts[2])], dtype=bool)
    rows = pd.DataFrame({"session": labels["session"].astype(str).to_numpy(), "frame": labels["frame"].to_numpy(),
                         "a": np.where(first, parts[0], parts[2]), "b": np.where(first, parts[2], parts[0]),
                         "first": first, "label": labels[column].to_numpy().astype(np.int64)})
    key = ["session", "frame", "a", "b"]
    out = rows[rows["first"]].drop(columns="first").rename(columns={"label": "cluster_a"}).merge(
        rows[~rows["first"]].drop(columns="first").rename(columns={"label": "cluster_b"}),
        on=key, how="outer", validate="one_to_one")
    out["cluster_a"] = out["cluster_a"].fillna(-1).astype(np.int64)
    out["cluster_b"] = out["cluster_b"].fillna(-1).astype(np.int64)
    ca, cb = out["cluster_a"].to_numpy(), out["cluster_b"].to_numpy()
    ea = np.array([event_of.get(int(c), -1) for c in ca], dtype=np.int64)
    eb = np.array([event_of.get(int(c), -1) for c in cb], dtype=np.int64)
    event = np.where((ea == eb) & (ea >= 0), ea, -1)
    actor = np.where((event < 0) | (ca == cb), "", np.where(ca < cb, out["a"], out["b"]))
    table = pd.DataFrame({"session": out["session"], "frame": out["frame"].astype(np.int64),
                          "subject": out["a"] + "&" + out["b"], "event": event, "actor": actor,
                          "cluster_a": ca, "cluster_b": cb})
    rank = {name: i for i, name in enumerate(pd.unique(rows["session"]))}
    table = table.iloc[np.lexsort((table["frame"].to_numpy(), out["b"].map(order).to_numpy(),
                                   out["a"].map(order).to_numpy(),
                                   table["session"].map(rank).to_numpy()))].reset_index(drop=True)
    table.attrs["events"] = events
    return table


def _check_label_table(labels: pd.DataFrame) -> None:
    check_table(labels, "the label table", ("session", "frame", "subject", "cluster"),
                "BehaviourClusterer.labels_ or mapose cluster's labels.csv")
    for column in ("frame", "cluster"):
        values = labels[column]
        if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
            continue
        numeric = pd.api.types.is_float_dtype(values)
        bad = ~np.isfinite(values) | (values != values.round()) if numeric else np.ones(len(values), bool)
        if bad.any():
            raise ValidationError(f"label table: {column!r} holds {values[np.asarray(bad)].iloc[0]!r}; expected whole "
                                  f"numbers ({'cluster ids, -1 = noise' if column == 'cluster' else 'video frames'})")
    repeated = labels.duplicated(subset=["session", "frame", "subject"])
    if repeated.any():
        row = labels[repeated].iloc[0]
        raise ValidationError(f"label table has {int(repeated.sum())} repeated row(s): session {row['session']!r}, "
                              f"frame {int(row['frame'])}, subject {row['subject']!r} appears more than once "
                              "(one label per session, frame and subject)")


def _bouts_table(labels: pd.DataFrame, ignore: Sequence[int] = ()) -> pd.DataFrame:
    """Bouts of every (session, subject) sequence (frames sorted; a gap in frames ends a bout)."""
    parts = []
    for (session, subject), grp in labels.groupby(["session", "subject"], sort=False):
        grp = grp.sort_values("frame")
        frames = grp["frame"].to_numpy()
        lab = grp["cluster"].to_numpy()
        # gaps in frame numbers split sequences
        splits = np.flatnonzero(np.diff(frames) != 1) + 1
        for idx in np.split(np.arange(len(frames)), splits):
            if not idx.size:
                continue
            b = find_bouts(lab[idx], ignore=ignore)
            if len(b):
                b["start_row"] = b["start"] + idx[0]
                b["start"] = frames[idx][b["start"].to_numpy()]
                b["stop"] = b["start"] + b["length"]
                b["session"] = session
                b["subject"] = subject
                parts.append(b)
    cols = ["session", "subject", "label", "start", "stop", "length"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    return out[cols]


def transition_matrix(labels: pd.DataFrame, normalize: bool = True,
                      include_noise: bool = False) -> pd.DataFrame:
    """Bout-to-bout transition matrix (self-transitions excluded).

    Parameters
    ----------
    labels
        Table with columns ``session``, ``frame``, ``subject``, ``cluster``.  Transitions are
        counted within each (session, subject) sequence of consecutive frames only.
    normalize
        Rows sum to 1 (probability of the next behaviour given the current one); else counts.
    include_noise
        Keep ``-1`` as a state; by default noise runs are dropped (the bouts either side are then
        consecutive).

    Returns
    -------
    pandas.DataFrame
        Square matrix indexed by cluster (rows = from, columns = to).
    """
    _check_label_table(labels)
    states = sorted(int(c) for c in labels["cluster"].unique() if include_noise or c >= 0)
    index = {c: i for i, c in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    bouts = _bouts_table(labels, ignore=() if include_noise else (-1,))
    for _, grp in bouts.groupby(["session", "subject"], sort=False):
        seq = grp["label"].to_numpy()
        # consecutive equal labels after dropping noise are one behaviour: no transition
        for a, b in zip(seq[:-1], seq[1:]):
            if a != b:
                counts[index[int(a)], index[int(b)]] += 1
    if normalize:
        sums = counts.sum(axis=1, keepdims=True)
        counts = np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)
    return pd.DataFrame(counts, index=pd.Index(states, name="from"),
                        columns=pd.Index(states, name="to"))


def transition_graph(matrix: pd.DataFrame, min_probability: float = 0.05,
                     stats: Optional[pd.DataFrame] = None):
    """Directed :mod:`networkx` graph of a transition matrix.

    Parameters
    ----------
    matrix
        Output of :func:`transition_matrix` (normalised).
    min_probability
        Edges with a lower transition probability are left out.
    stats
        Optional :func:`cluster_statistics`; its ``subject == "all"`` fractions become the node
        attribute ``fraction``.

    Returns
    -------
    networkx.DiGraph
        Nodes = clusters (attribute ``fraction``), edges with attribute ``weight`` = probability.
    """
    import networkx as nx

    if (not isinstance(matrix, pd.DataFrame) or list(map(str, matrix.index)) != list(map(str, matrix.columns))
            or not all(pd.api.types.is_numeric_dtype(t) for t in matrix.dtypes)):
        raise ValidationError("transition_graph takes the matrix of transition_matrix(labels): square, numbers, the "
                              "cluster ids as rows and columns; got "
                              + (f"a table with columns {list(matrix.columns)[:6]}" if isinstance(matrix, pd.DataFrame)
                                 else f"a {type(matrix).__name__}"))
    g = nx.DiGraph()
    frac = {}
    if stats is not None:
        s = stats[stats["subject"] == "all"]
        frac = dict(zip(s["cluster"].astype(int), s["fraction"]))
    for c in matrix.index:
        g.add_node(int(c), fraction=float(frac.get(int(c), np.nan)))
    for a in matrix.index:
        for b in matrix.columns:
            p = float(matrix.loc[a, b])
            if a != b and p >= min_probability and p > 0:
                g.add_edge(int(a), int(b), weight=p)
    return g


def typical_bouts(
    labels: pd.DataFrame,
    reduced: np.ndarray,
    centers: np.ndarray,
    clusters: Sequence[int],
    n: int = 5,
    min_frames: int = 1,
    fps: Optional[float] = None,
) -> pd.DataFrame:
    """For each cluster, the bouts closest to its centre (the ones to watch on video).

    Parameters
    ----------
    labels
        Label table (rows aligned with ``reduced``).
    reduced
        ``(rows, d)`` reduced feature matrix of the same rows (see :meth:`BehaviourClusterer.transform`).
    centers, clusters
        Cluster centres ``(C, d)`` in the same space and their ids (``model.centers_``,
        ``model.clusters_``).
    n
        Bouts per cluster.
    min_frames
        Shorter bouts are not proposed (unless a cluster has no longer bout).
    fps
        Adds ``start_s`` / ``stop_s`` (seconds) when given.

    Returns
    -------
    pandas.DataFrame
        Columns ``cluster``, ``rank`` (1 = most typical), ``session``, ``subject``, ``start``,
        ``stop`` (exclusive), ``length`` (frames) and ``distance`` (mean distance of the bout's
        frames to the cluster centre, in reduced-feature units).
    """
    _check_label_table(labels)
    if int(n) != n or n < 1:
        raise ConfigError(f"typical bouts per cluster (n) must be a whole number >= 1, got {n!r}")
    if len(labels) != len(reduced):
        raise ValidationError(f"{len(labels)} label rows but {len(reduced)} feature rows")
    centers = np.asarray(centers, dtype=np.float64)
    clusters = np.asarray(clusters).reshape(-1)
    if centers.ndim != 2 or len(centers) != len(clusters) or centers.shape[1] != np.shape(reduced)[-1]:
        raise ValidationError(f"centers have shape {centers.shape}; expected one row per cluster id ({len(clusters)}) "
                              f"in the space of the reduced features ({np.shape(reduced)[-1]} columns): the model's "
                              "centers_ and clusters_")
    lab = labels.reset_index(drop=True)
    cid = {int(c): i for i, c in enumerate(clusters)}
    lab_arr = lab["cluster"].to_numpy()
    dist = np.full(len(lab), np.nan)
    for c, i in cid.items():
        sel = lab_arr == c
        if sel.any():
            dist[sel] = np.linalg.norm(reduced[sel] - centers[i], axis=1)
    order = lab.sort_values(["session", "subject", "frame"], kind="stable").index.to_numpy()
    sorted_lab = lab.loc[order]
    bouts = _bouts_table(sorted_lab.reset_index(drop=True), ignore=(-1,))
    rows = []
    # rows of each bout in the sorted table: recompute via per-(session, subject) offsets
    dist_sorted = dist[order]
    sorted_lab = sorted_lab.reset_index(drop=True)
    starts = {}
    for key, grp in sorted_lab.groupby(["session", "subject"], sort=False):
        starts[key] = (grp.index[0], grp["frame"].to_numpy())
    for b in bouts.itertuples(index=False):
        off, frames = starts[(b.session, b.subject)]
        first = off + int(np.searchsorted(frames, b.start))
        d = float(np.nanmean(dist_sorted[first:first + b.length]))
        rows.append((int(b.label), b.session, b.subject, int(b.start), int(b.stop), int(b.length), d))
    cand = pd.DataFrame(rows, columns=["cluster", "session", "subject", "start", "stop", "length",
                                       "distance"])
    out = []
    for c in sorted(cid):
        cc = cand[cand["cluster"] == c]
        if (cc["length"] >= min_frames).any():
            cc = cc[cc["length"] >= min_frames]
        cc = cc.sort_values(["distance", "length"], ascending=[True, False], kind="stable").head(n)
        cc = cc.assign(rank=np.arange(1, len(cc) + 1))
        out.append(cc)
    cols = ["cluster", "rank", "session", "subject", "start", "stop", "length", "distance"]
    res = pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)
    fps = check_fps(fps or None, "typical_bouts")
    if fps:
        res["start_s"] = res["start"] / fps
        res["stop_s"] = res["stop"] / fps
    return res


def labels_for_tracks(labels: pd.DataFrame, ds: xr.Dataset, session: Optional[str] = None) -> xr.DataArray:
    """Per-frame cluster labels aligned with a ``Tracks`` dataset.

    Parameters
    ----------
    labels
        Label table.
    ds
        The session's ``Tracks``.
    session
        Which session of the table (default: the only one).

    Returns
    -------
    xarray.DataArray
        int64 ``(time, subject)`` with the ``frame`` coordinate of ``ds``; ``-1`` where a frame has
        no label.
    """
    _check_label_table(labels)
    if session is None:
        names = labels["session"].unique()
        if len(names) != 1:
            raise ValidationError(f"the label table holds {len(names)} sessions; say which one")
        session = names[0]
    sub = labels[labels["session"] == session]
    if sub.empty:
        raise ValidationError(f"no labels for session {session!r}")
    subjects = list(dict.fromkeys(sub["subject"]))
    frames = ds["frame"].values
    if len(frames) and not np.isin(sub["frame"].to_numpy(), frames).any():
        raise ValidationError(f"no labelled frame of session {session!r} ({int(sub['frame'].min())}.."
                              f"{int(sub['frame'].max())}) is among the frames of these tracks "
                              f"({int(frames.min())}..{int(frames.max())}); are they of this session?")
    out = np.full((len(frames), len(subjects)), -1, dtype=np.int64)
    pos = {int(f): i for i, f in enumerate(frames)}
    for j, s in enumerate(subjects):
        g = sub[sub["subject"] == s]
        idx = np.array([pos.get(int(f), -1) for f in g["frame"]])
        ok = idx >= 0
        out[idx[ok], j] = g["cluster"].to_numpy()[ok]
    return xr.DataArray(out, dims=("time", "subject"),
                        coords={"time": ds["time"].values, "subject": subjects,
                                "frame": ("time", frames)}, name="cluster")


# ------------------------------------------------------------------------------ persistence
_ARRAYS = ("compress_scale_", "weights_", "clip_low_", "clip_high_", "median_", "mean_", "scale_", "pca_components_",
           "pca_mean_", "clusters_", "centers_", "embedding_", "embedding_labels_")


def _versions() -> dict:
    import sklearn
    import umap

    return {"mapose": __import__("mapose").__version__, "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
            "umap-learn": getattr(umap, "__version__", "unknown"), "python": platform.python_version()}


def save_model(model: BehaviourClusterer, folder: Union[str, Path]) -> Path:
    """Save a fitted model in ``folder`` (created): ``model.json`` (manifest: parameters, feature
    names, windows, skeleton keypoints, library versions), ``arrays.npz`` and ``classifier.skops``.

    Every file is written atomically.  Nothing is pickled; the classifier is stored with ``skops``
    and loaded back only if it holds the allow-listed types.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import skops.io as sio

    from mapose.config import to_dict
    from mapose.io._files import atomic_path, atomic_write_bytes, atomic_write_text, ensure_folder, json_ready

    model._check_fitted()
    folder = ensure_folder(folder, "the clusters model")
    with atomic_path(folder / "arrays.npz") as tmp:
        np.savez(tmp, **{k: np.asarray(getattr(model, k)) for k in _ARRAYS})
    if isinstance(model.classifier_, _ConstantClassifier):
        clf_info = {"kind": "constant", "label": model.classifier_.label}
    else:
        atomic_write_bytes(folder / "classifier.skops", sio.dumps(model.classifier_))
        clf_info = {"kind": "hist_gradient_boosting", "file": "classifier.skops"}
    manifest = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "params": to_dict(model.config),
        "feature_names": list(model.feature_names_),
        "keypoints": model.keypoints_,
        "space_unit": getattr(model, "space_unit_", None),
        "fps": getattr(model, "fps_", None),
        "classifier": clf_info,
        "n_clusters": model.n_clusters_,
        "agreement_classifier_vs_transform": model.agreement_,
        "noise_fraction_fit": model.noise_fraction_,
        "n_fit_frames": model.n_fit_frames_,
        "versions": _versions(),
    }
    atomic_write_text(folder / "model.json", json.dumps(json_ready(manifest), indent=2, default=_json_default,
                                                        allow_nan=False))
    return folder


def _json_default(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def load_model(folder: Union[str, Path]) -> BehaviourClusterer:
    """Load a model saved by :func:`save_model` (no pickle; allow-listed ``skops`` types only).

    Raises
    ------
    MissingFileError
        The folder lacks ``model.json`` / ``arrays.npz`` / the classifier file.
    FormatError
        The manifest is not a mapose clusterer, or the classifier holds unexpected types.
    """
    import skops.io as sio

    from mapose.config import from_dict
    from mapose.io._files import folder_kind, read_json, require_file, require_model_folder

    folder = Path(folder)
    if folder_kind(folder) == "behaviour clusters output" and (folder / "model" / "model.json").is_file():
        folder = folder / "model"  # the output folder of 'mapose cluster' holds its model
    folder = require_model_folder(folder, "behaviour clusters model")
    mpath = folder / "model.json"
    manifest = read_json(mpath, "behaviour model manifest")
    if manifest.get("format") != MODEL_FORMAT:
        raise FormatError(f"{mpath}: format is {manifest.get('format')!r}; expected {MODEL_FORMAT!r}")
    if int(manifest.get("version", -1)) > MODEL_VERSION:
        raise FormatError(f"{mpath}: model version {manifest.get('version')} is newer than this mapose "
                          f"reads ({MODEL_VERSION})")
    cfg = from_dict(ClusterConfig, manifest["params"])
    model = BehaviourClusterer.from_config(cfg)
    with np.load(require_file(folder / "arrays.npz", "model arrays"), allow_pickle=False) as arr:
        for k in _ARRAYS:
            if k not in arr:
                raise FormatError(f"{folder / 'arrays.npz'}: lacks array {k!r}")
            setattr(model, k, arr[k])
    clf = manifest["classifier"]
    if clf["kind"] == "constant":
        model.classifier_ = _ConstantClassifier(int(clf["label"]))
    else:
        cpath = require_file(folder / clf["file"], "classifier file")
        data = cpath.read_bytes()
        untrusted = sio.get_untrusted_types(data=data)
        bad = [t for t in untrusted if t not in TRUSTED_TYPES]
        if bad:
            raise FormatError(f"{cpath}: refuses to load unexpected type(s) {bad}; "
                              f"allowed: {', '.join(TRUSTED_TYPES)}")
        model.classifier_ = sio.loads(data, trusted=list(untrusted))
    model.feature_names_ = list(manifest["feature_names"])
    model.keypoints_ = manifest.get("keypoints")
    model.space_unit_ = manifest.get("space_unit")  # None in models saved before they were recorded
    model.fps_ = manifest.get("fps")
    agreement = manifest.get("agreement_classifier_vs_transform")
    model.agreement_ = float("nan") if agreement is None else float(agreement)
    model.noise_fraction_ = float(manifest.get("noise_fraction_fit", float("nan")))
    model.n_fit_frames_ = int(manifest.get("n_fit_frames", 0))
    model.umap_ = None
    return model
