"""Supervised behaviour classifiers: human annotations -> per-frame behaviour scores on new videos.

Two layers:

- :class:`BehaviourClassifier` -- a scikit-learn style estimator on *tables*: one binary model per
  behaviour (histogram gradient boosting or random forest), class weights against imbalance,
  out-of-fold probabilities from session-grouped cross-validation, a probability threshold per
  behaviour chosen on those out-of-fold predictions (max F1 after smoothing), and minimum-bout
  smoothing of the 0/1 output (:func:`mapose.behaviour.bouts.min_bout_filter`).
- :class:`PoseClassifier` -- the classifier plus *how features are made from pose*: the body parts
  it needs, calibration (pixels or cm), frame rate, feature mode (``"animal"`` or ``"pair"``) and
  window sizes of :func:`mapose.kinematics.feature_table`.  :func:`train_classifier` builds one from
  Tracks + annotation tables, :meth:`PoseClassifier.predict_tracks` scores new Tracks;
  :func:`save_classifier` / :func:`load_classifier` persist it in a safe format (skops, only
  allow-listed scikit-learn types, plus a JSON manifest).

Feature rows are identified by ``frame`` and ``subject`` (an animal name, or ``"A|B"`` for the
ordered pair A -> B); the annotation tables of :mod:`mapose.io.annotations` use the same keys.
"""

from __future__ import annotations

import fnmatch
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.ensemble import HistGradientBoostingClassifier

from mapose.behaviour.bouts import find_bouts, min_bout_filter
from mapose.behaviour.validation import (
    best_threshold,
    bout_metrics,
    frame_metrics,
    grouped_folds,
    pr_curve,
)
from mapose.config import CheckedConfig, as_number
from mapose.core.tables import check_table
from mapose.errors import ConfigError, FormatError, SkeletonError, ValidationError

__all__ = [
    "ESTIMATORS",
    "BehaviourClassifier",
    "nested_cross_validate",
    "FeatureSpec",
    "PoseClassifier",
    "prepare_tracks",
    "pose_features",
    "training_table",
    "train_classifier",
    "save_classifier",
    "load_classifier",
    "parse_rename",
]

ESTIMATORS = ("hist_gradient_boosting", "random_forest")
META_COLUMNS = ("frame", "subject", "session")
#: Features left out unless ``exclude`` is given: where the animal is in the arena and which
#: compass direction it faces say more about the session than about the behaviour.
DEFAULT_EXCLUDE = ("centroid_x", "centroid_y", "heading_cos", "heading_sin",
                   "[ab]_centroid_x", "[ab]_centroid_y", "[ab]_heading_cos", "[ab]_heading_sin")
MODEL_FILE = "estimators.skops"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1

#: Types a saved classifier may contain beyond skops' defaults; anything else is refused on load.
TRUSTED_TYPES = (
    "mapose.behaviour.classifier.BalancedHistGradientBoosting",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.tree._tree.Tree",
)


class BalancedHistGradientBoosting(HistGradientBoostingClassifier):
    """Histogram gradient boosting whose feature binning ignores sample/class weights.

    scikit-learn bins features with *weighted* percentiles when class weights are given (one
    slow weighted-percentile call per bin edge and feature: 5-10x the whole training time on
    our tables).  Bin edges only need to cover each feature's range, so they are computed
    unweighted; the class weights still weigh the loss.  Prediction is scikit-learn's own code.
    """

    def _bin_data(self, X, sample_weight, is_training_data):
        return super()._bin_data(X, None, is_training_data)


def _hgb_class():
    return BalancedHistGradientBoosting


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


# ============================================================================ table estimator
def _names(value) -> list[str]:
    """A list of names given as one name or a list of them."""
    return [value] if isinstance(value, str) else list(value or ())


class BehaviourClassifier:
    """One binary classifier per behaviour, with thresholds chosen on grouped validation data.

    Parameters
    ----------
    behaviours
        Behaviour names to learn (default: every column of ``y`` in :meth:`fit`).
    estimator
        ``"hist_gradient_boosting"`` (default; fast, handles NaN features) or ``"random_forest"``
        (NaN features are replaced by the training median).
    class_weight
        ``"balanced"`` (default): rare behaviours weigh as much as their absence in the loss;
        ``None``: unweighted.
    threshold
        ``"f1"`` (default): per behaviour, the threshold maximising F1 of the smoothed
        out-of-fold predictions; or a number in (0, 1) used for every behaviour.
    min_bout
        Shortest behaviour bout kept, in frames (``1`` = no smoothing).  Shorter bouts -- of the
        behaviour or of its absence -- are merged into their longer neighbour
        (``min_bout_filter(..., fill="neighbour")``), within each session and subject.
    n_splits
        Folds of the grouped cross-validation (sessions never straddle folds; with fewer sessions
        than folds, contiguous blocks of frames are used instead, see
        :func:`mapose.behaviour.validation.grouped_folds`).
    max_iter, learning_rate, max_leaf_nodes, l2_regularization
        Histogram gradient boosting settings.
    min_samples_leaf
        Fewest training rows in a leaf (both estimators).  Neighbouring frames are nearly
        copies of each other, so small leaves memorise sessions rather than behaviours.
    n_estimators
        Number of trees of the random forest.
    cv_max_rows
        Validation models (those that give the out-of-fold probabilities) train on at most this
        many rows: larger training folds keep every k-th row in (session, subject, frame) order.
        Neighbouring frames are near duplicates, so this changes little but bounds the cost of
        cross-validation.  The final model always uses every row.  ``None``: no limit.
    include, exclude
        Shell-style patterns (``fnmatch``) selecting feature columns, e.g. ``("*speed*",)``.
        ``exclude=None`` leaves out :data:`DEFAULT_EXCLUDE` (absolute position and compass
        heading); ``exclude=()`` keeps everything.
    random_state
        Seed (training is deterministic for a given seed).
    n_threads
        CPU threads for training and prediction (``None``: all cores).  On a busy shared machine
        ``1`` can be many times faster than oversubscribed OpenMP threads.

    Attributes
    ----------
    behaviours_ : list of str
    feature_names_ : list of str
    estimators_ : dict
        Behaviour -> fitted scikit-learn classifier (trained on all rows).
    thresholds_ : dict
        Behaviour -> probability threshold.
    cv_ : dict
        Out-of-fold validation: ``metrics`` (per behaviour: precision, recall, F1 at the chosen
        threshold after smoothing, average precision, bout metrics), ``pr_curves``, ``oof_proba``
        (DataFrame), ``folds`` (number), ``fold_unit`` (``"session"`` or ``"block"``).
    """

    def __init__(
        self,
        behaviours: Optional[Sequence[str]] = None,
        *,
        estimator: str = "hist_gradient_boosting",
        class_weight: Optional[str] = "balanced",
        threshold: Union[str, float] = "f1",
        min_bout: int = 1,
        n_splits: int = 5,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 50,
        l2_regularization: float = 0.0,
        n_estimators: int = 200,
        cv_max_rows: Optional[int] = 30000,
        include: Optional[Sequence[str]] = None,
        exclude: Optional[Sequence[str]] = None,
        random_state: int = 0,
        n_threads: Optional[int] = None,
    ) -> None:
        self.behaviours = behaviours
        self.estimator = estimator
        self.class_weight = class_weight
        self.threshold = threshold
        self.min_bout = min_bout
        self.n_splits = n_splits
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.n_estimators = n_estimators
        self.cv_max_rows = cv_max_rows
        self.include = include
        self.exclude = exclude
        self.random_state = random_state
        self.n_threads = n_threads

    # ------------------------------------------------------------------ parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {k: getattr(self, k) for k in (
            "behaviours", "estimator", "class_weight", "threshold", "min_bout", "n_splits",
            "max_iter", "learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization",
            "n_estimators", "cv_max_rows", "include", "exclude",
            "random_state", "n_threads")}

    def set_params(self, **params: Any) -> "BehaviourClassifier":
        known = self.get_params()
        for k, v in params.items():
            if k not in known:
                raise ConfigError(f"unknown parameter {k!r}; allowed: {', '.join(sorted(known))}")
            setattr(self, k, v)
        return self

    def _check_params(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ConfigError(f"unknown estimator {self.estimator!r}; allowed: {', '.join(ESTIMATORS)}")
        if self.class_weight not in ("balanced", None):
            raise ConfigError(f"class_weight must be 'balanced' or None, got {self.class_weight!r}")
        if isinstance(self.threshold, str):
            if self.threshold != "f1":
                raise ConfigError(f"threshold must be 'f1' or a number in (0, 1), got {self.threshold!r}")
        elif not 0 < as_number(self.threshold, "threshold") < 1:
            raise ConfigError(f"threshold must be 'f1' or a number in (0, 1), got {self.threshold!r}")
        as_number(self.min_bout, "min_bout (frames)", whole=True, minimum=1)
        as_number(self.n_splits, "n_splits", whole=True, minimum=2)
        as_number(self.max_iter, "max_iter", whole=True, minimum=1)
        as_number(self.learning_rate, "learning_rate", positive=True)
        as_number(self.max_leaf_nodes, "max_leaf_nodes", whole=True, minimum=2)
        as_number(self.min_samples_leaf, "min_samples_leaf", whole=True, minimum=1)
        as_number(self.l2_regularization, "l2_regularization", minimum=0)
        as_number(self.n_estimators, "n_estimators", whole=True, minimum=1)
        as_number(self.cv_max_rows, "cv_max_rows", whole=True, minimum=2, optional=True)
        as_number(self.random_state, "random_state", whole=True, minimum=0)
        as_number(self.n_threads, "n_threads", whole=True, minimum=1, optional=True)
        for name in ("behaviours", "include", "exclude"):
            value = getattr(self, name)
            names = [value] if isinstance(value, str) else value
            if names is not None and (not isinstance(names, (list, tuple, pd.Index, np.ndarray))
                                      or not all(isinstance(n, str) for n in names)):
                raise ConfigError(f"{name} must be a list of names; got {str(value)[:60]!r}")

    def _make_estimator(self):
        if self.estimator == "hist_gradient_boosting":
            return _hgb_class()(
                max_iter=int(self.max_iter), learning_rate=float(self.learning_rate),
                max_leaf_nodes=int(self.max_leaf_nodes), class_weight=self.class_weight,
                min_samples_leaf=int(self.min_samples_leaf),
                l2_regularization=float(self.l2_regularization),
                early_stopping=False, random_state=int(self.random_state),
            )
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=int(self.n_estimators), min_samples_leaf=int(self.min_samples_leaf),
            n_jobs=int(self.n_threads) if self.n_threads else -1,
            class_weight="balanced_subsample" if self.class_weight == "balanced" else None,
            random_state=int(self.random_state),
        )

    # ------------------------------------------------------------------ features
    def _select_features(self, X: pd.DataFrame) -> list[str]:
        cols = [c for c in X.columns if c not in META_COLUMNS]
        numeric = [c for c in cols if pd.api.types.is_numeric_dtype(X[c])]
        bad = [c for c in cols if c not in numeric]
        if bad:
            raise ValidationError(f"feature columns must be numeric; not numeric: {bad[:10]}")
        include = _names(self.include)
        if include:
            numeric = [c for c in numeric if any(fnmatch.fnmatchcase(c, p) for p in include)]
        exclude = DEFAULT_EXCLUDE if self.exclude is None else _names(self.exclude)
        if exclude:
            numeric = [c for c in numeric if not any(fnmatch.fnmatchcase(c, p) for p in exclude)]
        if not numeric:
            raise ValidationError(
                f"no feature columns left (include={self.include}, exclude={self.exclude}); "
                f"columns: {cols[:20]}"
            )
        return numeric

    def _matrix(self, X: pd.DataFrame, fill: bool = True) -> np.ndarray:
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ValidationError(
                f"{len(missing)} feature(s) the classifier was trained on are missing: "
                f"{', '.join(missing[:10])}{', …' if len(missing) > 10 else ''}"
            )
        M = np.array(X[self.feature_names_].to_numpy(dtype=np.float32, na_value=np.nan), copy=True)
        M[~np.isfinite(M)] = np.nan
        if fill and self.estimator == "random_forest":
            M = np.where(np.isnan(M), self.fill_values_[None, :], M)
        return M

    def _segments(self, X: pd.DataFrame, groups: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Order rows by (session, subject, frame); return the order and segment id per row."""
        n = len(X)
        sess = pd.Series(np.zeros(n, np.int64) if groups is None else np.asarray(groups)).astype(str)
        subj = X["subject"].astype(str).to_numpy() if "subject" in X.columns else np.array([""] * n)
        frame = X["frame"].to_numpy() if "frame" in X.columns else np.arange(n)
        key = sess.to_numpy() + "\x00" + subj
        order = np.lexsort((frame, key))
        k, f = key[order], frame[order]
        # a segment: one session and subject, frames in a row (annotated stretches stay apart)
        new = np.ones(n, bool)
        new[1:] = (k[1:] != k[:-1]) | (f[1:] != f[:-1] + 1)
        seg = np.empty(n, np.int64)
        seg[order] = np.cumsum(new) - 1
        return order, seg

    def _smooth(self, pred: np.ndarray, order: np.ndarray, seg: np.ndarray) -> np.ndarray:
        if int(self.min_bout) <= 1:
            return pred
        out = pred.copy()
        sorted_seg = seg[order]
        bounds = np.flatnonzero(np.diff(sorted_seg)) + 1
        for idx in np.split(order, bounds):
            out[idx] = min_bout_filter(pred[idx], int(self.min_bout), fill="neighbour")
        return out

    # ------------------------------------------------------------------ fit
    def _threads(self):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(int(self.n_threads)) if self.n_threads else _nullcontext()

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.DataFrame,
        groups: Optional[np.ndarray] = None,
        cross_validate: bool = True,
    ) -> "BehaviourClassifier":
        """Fit one classifier per behaviour; choose thresholds on grouped out-of-fold predictions.

        Parameters
        ----------
        X
            ``(N, F)`` feature table; ``frame``/``subject``/``session`` columns are used to order
            frames for smoothing and are not features.
        y
            ``(N, B)`` 0/1 table, one column per behaviour, aligned with ``X`` row by row.
        groups
            ``(N,)`` session (video) id of each row; cross-validation never splits a session.
            Default: the ``session`` column of ``X``, else one session.
        cross_validate
            Run the grouped cross-validation (needed for ``threshold="f1"``).

        Returns
        -------
        self
        """
        self._check_params()
        with self._threads():
            return self._fit(X, y, groups, cross_validate)

    def _fit(self, X, y, groups, cross_validate) -> "BehaviourClassifier":
        check_table(X, "X (the features)", (), "training_table")
        check_table(y, "y (the 0/1 behaviour labels)", (), "training_table")
        if len(X) != len(y):
            raise ValidationError(f"X has {len(X)} rows but y has {len(y)}")
        if groups is None and "session" in X.columns:
            groups = X["session"].to_numpy()
        if groups is not None and len(groups) != len(X):
            raise ValidationError(f"groups has {len(groups)} entries; X has {len(X)} rows")
        names = _names(self.behaviours) if self.behaviours else [c for c in y.columns if c not in META_COLUMNS]
        missing = [b for b in names if b not in y.columns]
        if missing:
            raise ValidationError(f"behaviour(s) {missing} not in the labels; columns: {list(y.columns)}")
        Y = y[names].to_numpy()
        if not np.isin(Y, (0, 1)).all():
            raise ValidationError("labels must be 0/1")
        for b, col in zip(names, Y.T):
            if col.sum() == 0:
                raise ValidationError(f"behaviour {b!r} never occurs in the annotations; cannot learn it")
            if col.sum() == col.size:
                raise ValidationError(f"behaviour {b!r} occurs in every frame; cannot learn its absence")
        self.behaviours_ = names
        self.feature_names_ = self._select_features(X)
        self.fill_values_ = np.zeros(len(self.feature_names_), np.float32)
        raw = self._matrix(X, fill=False)
        if raw.size:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns -> fill 0
                med = np.nanmedian(raw, axis=0)
            self.fill_values_ = np.nan_to_num(med, nan=0.0).astype(np.float32)
        M = self._matrix(X)
        order, seg = self._segments(X, groups)
        self.thresholds_ = {}
        self.cv_ = {}
        if cross_validate:
            self._cross_validate(M, Y, X, groups, order, seg)
        elif self.threshold == "f1":
            raise ConfigError("threshold='f1' needs cross_validate=True (thresholds come from validation)")
        if self.threshold != "f1":
            self.thresholds_ = {b: float(self.threshold) for b in names}
        self.estimators_ = {}
        for j, b in enumerate(names):
            self.estimators_[b] = self._make_estimator().fit(M, Y[:, j])
        return self

    def _cross_validate(self, M, Y, X, groups, order, seg) -> None:
        g = np.zeros(len(M), np.int64) if groups is None else np.asarray(groups)
        frame = X["frame"].to_numpy() if "frame" in X.columns else np.arange(len(M))
        n_sessions = len(pd.unique(pd.Series(g)))
        units, folds = grouped_folds(g, int(self.n_splits), order=frame)
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        oof = np.full(Y.shape, np.nan)
        for j in range(Y.shape[1]):
            for tr, te in folds:
                if Y[tr, j].sum() == 0 or Y[tr, j].sum() == len(tr):
                    # a fold without positives (or negatives) cannot learn: predict the base rate
                    oof[te, j] = Y[tr, j].mean()
                    continue
                fit_rows = tr
                if self.cv_max_rows and len(tr) > int(self.cv_max_rows):
                    ranked = tr[np.argsort(rank[tr], kind="stable")]
                    step = int(np.ceil(len(tr) / int(self.cv_max_rows)))
                    fit_rows = ranked[::step]
                    if Y[fit_rows, j].min() == Y[fit_rows, j].max():
                        fit_rows = tr
                model = self._make_estimator().fit(M[fit_rows], Y[fit_rows, j])
                oof[te, j] = model.predict_proba(M[te])[:, 1]
        metrics, curves = {}, {}
        for j, b in enumerate(self.behaviours_):

            def post(p: np.ndarray) -> np.ndarray:
                return self._smooth(p, order, seg)

            if self.threshold == "f1":
                thr, _ = best_threshold(Y[:, j], oof[:, j], post)
                self.thresholds_[b] = thr
            else:
                thr = float(self.threshold)
            pred = post((oof[:, j] >= thr).astype(np.int64))
            m = frame_metrics(Y[:, j], pred)
            curve = pr_curve(Y[:, j], oof[:, j])
            m["average_precision"] = curve["average_precision"]
            m["threshold"] = thr
            # bout agreement, summed over segments (bouts never cross sessions/subjects)
            bm = _segment_bout_metrics(Y[:, j], pred, order, seg)
            m.update(bm)
            metrics[b] = m
            curves[b] = curve
        self.cv_ = {
            "metrics": metrics,
            "pr_curves": curves,
            "oof_proba": pd.DataFrame(oof, columns=self.behaviours_),
            "folds": len(folds),
            "fold_unit": "session" if n_sessions >= int(self.n_splits) else "block",
            "fold_units": units,
        }

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise ValidationError("this BehaviourClassifier is not fitted; call fit first")

    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row probability of every behaviour, ``(N, B)`` DataFrame (columns = behaviours)."""
        self._check_fitted()
        M = self._matrix(X)
        with self._threads():
            out = {b: self.estimators_[b].predict_proba(M)[:, 1] for b in self.behaviours_}
        return pd.DataFrame(out, index=X.index)

    def predict(self, X: pd.DataFrame, groups: Optional[np.ndarray] = None,
                proba: Optional[pd.DataFrame] = None) -> pd.DataFrame:
        """0/1 per row and behaviour: thresholded probabilities, then minimum-bout smoothing.

        Smoothing runs along ``frame`` within each (session, subject) segment.
        """
        self._check_fitted()
        if proba is None:
            proba = self.predict_proba(X)
        if groups is None and "session" in X.columns:
            groups = X["session"].to_numpy()
        order, seg = self._segments(X, groups)
        out = {}
        for b in self.behaviours_:
            pred = (proba[b].to_numpy() >= self.thresholds_[b]).astype(np.int64)
            out[b] = self._smooth(pred, order, seg)
        return pd.DataFrame(out, index=X.index)

    def permutation_importance(
        self,
        X: pd.DataFrame,
        y: pd.DataFrame,
        n_repeats: int = 3,
        max_rows: int = 20000,
        random_state: int = 0,
    ) -> pd.DataFrame:
        """Drop in average precision when one feature is shuffled (what the classifier looks at).

        Parameters
        ----------
        X, y
            Held-out feature table and 0/1 labels (use data the classifier was NOT trained on,
            e.g. another session, for an honest answer).
        n_repeats
            Shuffles per feature.
        max_rows
            Rows are subsampled (deterministically) above this number.

        Returns
        -------
        pandas.DataFrame
            Columns ``behaviour``, ``feature``, ``importance_mean``, ``importance_std``, sorted by
            decreasing importance within each behaviour.
        """
        from sklearn.inspection import permutation_importance

        self._check_fitted()
        M = self._matrix(X)
        rng = np.random.default_rng(random_state)
        idx = np.arange(len(M))
        if len(idx) > max_rows:
            idx = np.sort(rng.choice(idx, max_rows, replace=False))
        rows = []
        for b in self.behaviours_:
            yb = y[b].to_numpy()[idx]
            if yb.min() == yb.max():
                continue
            r = permutation_importance(self.estimators_[b], M[idx], yb, scoring="average_precision",
                                       n_repeats=n_repeats, random_state=random_state)
            for f, m, s in zip(self.feature_names_, r.importances_mean, r.importances_std):
                rows.append((b, f, float(m), float(s)))
        df = pd.DataFrame(rows, columns=["behaviour", "feature", "importance_mean", "importance_std"])
        return df.sort_values(["behaviour", "importance_mean"], ascending=[True, False],
                              kind="stable").reset_index(drop=True)


def _segment_bout_metrics(y: np.ndarray, pred: np.ndarray, order: np.ndarray,
                          seg: np.ndarray) -> dict[str, float]:
    sorted_seg = seg[order]
    bounds = np.flatnonzero(np.diff(sorted_seg)) + 1
    n_t = n_p = det = cor = 0.0
    onset = []
    for idx in np.split(order, bounds):
        m = bout_metrics(y[idx], pred[idx])
        n_t += m["n_true_bouts"]
        n_p += m["n_pred_bouts"]
        det += m["bout_recall"] * m["n_true_bouts"]
        cor += m["bout_precision"] * m["n_pred_bouts"]
        if np.isfinite(m["mean_abs_onset_error"]):
            onset.append(m["mean_abs_onset_error"])
    rec = det / n_t if n_t else 0.0
    prec = cor / n_p if n_p else 0.0
    return {"n_true_bouts": int(n_t), "n_pred_bouts": int(n_p), "bout_recall": rec,
            "bout_precision": prec, "bout_f1": 2 * rec * prec / (rec + prec) if rec + prec else 0.0,
            "mean_abs_onset_error": float(np.mean(onset)) if onset else float("nan")}


def nested_cross_validate(
    X: pd.DataFrame,
    y: pd.DataFrame,
    groups: Optional[np.ndarray] = None,
    outer_splits: int = 5,
    **params: Any,
) -> tuple[dict[str, dict[str, float]], pd.DataFrame]:
    """Honest grouped cross-validation of the whole recipe, threshold choice included.

    For each of ``outer_splits`` outer folds (grouped like :func:`grouped_folds`), a
    :class:`BehaviourClassifier` is fitted on the other folds -- its threshold chosen by its own
    inner grouped cross-validation -- and predicts the held-out fold.  Metrics are computed on
    the pooled held-out predictions, so neither the model nor the threshold saw the rows they
    are scored on.

    Parameters
    ----------
    X, y, groups
        As in :meth:`BehaviourClassifier.fit` (``groups`` default: ``X["session"]``).
    outer_splits
        Outer folds (the inner cross-validation uses ``params.get("n_splits", 5)``).
    **params
        :class:`BehaviourClassifier` parameters.

    Returns
    -------
    metrics
        Behaviour -> frame metrics (precision, recall, F1), average precision and bout metrics.
    predictions
        Held-out ``B_prob`` and ``B`` per row (index of ``X``).
    """
    if groups is None:
        groups = X["session"].to_numpy() if "session" in X.columns else np.zeros(len(X), np.int64)
    groups = np.asarray(groups)
    frame = X["frame"].to_numpy() if "frame" in X.columns else np.arange(len(X))
    _, folds = grouped_folds(groups, int(outer_splits), order=frame)
    out = None
    for tr, te in folds:
        clf = BehaviourClassifier(**params).fit(
            X.iloc[tr].reset_index(drop=True), y.iloc[tr].reset_index(drop=True), groups=groups[tr])
        Xte = X.iloc[te].reset_index(drop=True)
        proba = clf.predict_proba(Xte)
        pred = clf.predict(Xte, groups=groups[te], proba=proba)
        if out is None:
            cols = [c for b in clf.behaviours_ for c in (f"{b}_prob", b)]
            out = pd.DataFrame(np.nan, index=np.arange(len(X)), columns=cols)
        for b in clf.behaviours_:
            out.loc[te, f"{b}_prob"] = proba[b].to_numpy()
            out.loc[te, b] = pred[b].to_numpy()
    behaviours = [c for c in out.columns if not c.endswith("_prob")]
    order, seg = BehaviourClassifier()._segments(X, groups)
    metrics = {}
    for b in behaviours:
        yt = y[b].to_numpy().astype(np.int64)
        yp = out[b].to_numpy().astype(np.int64)
        m = frame_metrics(yt, yp)
        m["average_precision"] = pr_curve(yt, out[f"{b}_prob"].to_numpy())["average_precision"]
        m.update(_segment_bout_metrics(yt, yp, order, seg))
        metrics[b] = m
    out.index = X.index
    return metrics, out


# ============================================================================ pose -> features
def parse_rename(items: Optional[Sequence[str]]) -> dict[str, str]:
    """``["OLD=NEW", ...]`` -> ``{"OLD": "NEW"}`` (body-part renames); raises on bad items."""
    out: dict[str, str] = {}
    for it in items or ():
        if it.count("=") != 1 or not all(s.strip() for s in it.split("=")):
            raise ConfigError(f"rename {it!r} is not of the form OLD=NEW")
        old, new = (s.strip() for s in it.split("="))
        if old in out:
            raise ConfigError(f"body part {old!r} renamed twice ({out[old]!r} and {new!r})")
        out[old] = new
    return out


@dataclass(frozen=True)
class FeatureSpec(CheckedConfig):
    """How a classifier's features are computed from pose (saved in the model manifest).

    Attributes
    ----------
    keypoints
        Body parts the features use, in order (others in a pose file are ignored; missing ones
        make the pose file unusable with this classifier).
    mode
        ``"animal"`` (one row per animal) or ``"pair"`` (one row per ordered pair).
    windows
        Window sizes of the rolling features, in frames at ``fps``.
    fps
        Frame rate of the training data (frames per second); windows, cleaning windows and the
        minimum bout are rescaled to the frame rate of new data.  ``None`` when unknown.
    space_unit
        ``"cm"`` when trained on calibrated positions (new data must then be calibrated too),
        else ``"px"``.
    feature_config
        Options of :class:`mapose.kinematics.FeatureConfig` (plain dict).
    cleaning
        Options of :class:`mapose.kinematics.CleaningConfig` run before the features (plain
        dict; empty = no cleaning).  Frame counts in it are at ``fps``.
    motion_features
        Add skeleton-free motion features: the median and the maximum over body parts of the
        keypoint speeds (``kp_speed_median``, ``kp_speed_max``) and their rolling mean / max
        over ``windows``.  They do not depend on body-part names or counts, so they transfer
        between skeletons (e.g. freezing = no body part moves for ~1 s).
    regions
        Names of the regions of interest whose ``in_<name>`` / ``dist_<name>`` features the
        classifier uses (:mod:`mapose.kinematics.regions`); new data must come with regions of
        these names (drawn on its own video).  Empty: none.
    """

    keypoints: tuple[str, ...]
    mode: str = "animal"
    windows: tuple[int, ...] = (5, 15, 45)
    fps: Optional[float] = None
    space_unit: str = "px"
    feature_config: Mapping[str, Any] = field(default_factory=dict)
    cleaning: Mapping[str, Any] = field(default_factory=dict)
    motion_features: bool = True
    regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in ("animal", "pair"):
            raise ConfigError(f"feature mode {self.mode!r}; allowed: animal, pair")
        w = tuple(int(x) for x in self.windows)
        if any(x < 1 for x in w):
            raise ConfigError(f"windows must be >= 1 frame, got {self.windows}")
        object.__setattr__(self, "windows", w)
        object.__setattr__(self, "keypoints", tuple(str(k) for k in self.keypoints))
        object.__setattr__(self, "regions", tuple(str(r) for r in self.regions))
        object.__setattr__(self, "feature_config", dict(self.feature_config))
        object.__setattr__(self, "cleaning", dict(self.cleaning))
        if self.cleaning:
            from mapose.config import from_dict
            from mapose.kinematics import CleaningConfig

            from_dict(CleaningConfig, self.cleaning, "cleaning")  # unknown keys raise

    def to_dict(self) -> dict[str, Any]:
        return {"keypoints": list(self.keypoints), "mode": self.mode, "windows": list(self.windows),
                "fps": self.fps, "space_unit": self.space_unit,
                "feature_config": _jsonable(self.feature_config),
                "cleaning": _jsonable(self.cleaning), "motion_features": bool(self.motion_features),
                "regions": list(self.regions)}


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def prepare_tracks(
    ds: xr.Dataset,
    *,
    rename: Optional[Mapping[str, str]] = None,
    keypoints: Optional[Sequence[str]] = None,
    px_per_cm: Optional[float] = None,
    fps: Optional[float] = None,
    what: str = "pose data",
) -> xr.Dataset:
    """Rename body parts, keep the classifier's keypoints (in its order) and calibrate.

    Parameters
    ----------
    ds
        Tracks.
    rename
        ``{old: new}`` body-part names (applied first).
    keypoints
        Body parts to keep, in this order; a missing one raises :class:`SkeletonError` naming all
        missing and the available ones.
    px_per_cm
        Pixels per centimetre; positions become cm (:func:`mapose.kinematics.calibrate`).
    fps
        Frames per second for Tracks without a frame rate.
    what
        Name of the data in error messages (e.g. the file name).
    """
    from mapose.core import get_skeleton, validate_tracks

    if not isinstance(ds, xr.Dataset):
        raise ValidationError(f"{what}: a {type(ds).__name__}; expected Tracks (an xarray.Dataset, e.g. from "
                              "mapose.io.read_tracks)")
    validate_tracks(ds)
    if rename:
        ds = ds.copy()
        names = [str(k) for k in ds["keypoints"].values]
        unknown = [o for o in rename if o not in names]
        if unknown:
            raise SkeletonError(
                f"{what}: cannot rename body part(s) {unknown}: not in the data; known: {', '.join(names)}"
            )
        sk = get_skeleton(ds)
        if list(sk.keypoints) != names:  # coords renamed without the skeleton attr
            from mapose.core import Skeleton

            sk = Skeleton(tuple(names))
        sk = sk.rename(dict(rename))
        ds = ds.assign_coords(keypoints=list(sk.keypoints))
        ds.attrs["skeleton"] = sk.to_json()
    if keypoints is not None:
        names = [str(k) for k in ds["keypoints"].values]
        missing = [k for k in keypoints if k not in names]
        if missing:
            raise SkeletonError(
                f"{what}: body part(s) {', '.join(missing)} needed by the classifier are missing; "
                f"the data has {', '.join(names)} (map names with --rename OLD=NEW)"
            )
        if list(keypoints) != names:
            sk = get_skeleton(ds).subset(list(keypoints))
            ds = ds.sel(keypoints=list(keypoints))
            ds.attrs["skeleton"] = sk.to_json()
    if px_per_cm is not None or (fps and not ds.attrs.get("fps")):
        from mapose.kinematics import calibrate

        ds = calibrate(ds, px_per_cm=px_per_cm,
                       fps=fps if (fps and not ds.attrs.get("fps")) else None)
    return ds


def _window_suffix_map(windows: Sequence[int], scaled: Sequence[int]) -> dict[str, str]:
    return {f"_{s}": f"_{w}" for w, s in zip(windows, scaled) if s != w}


def _scaled_cleaning(cleaning: Mapping[str, Any], ratio: float) -> dict[str, Any]:
    out = dict(cleaning)
    for k in ("max_gap", "median_window", "savgol_window"):
        if out.get(k) is not None:
            v = max(1, int(round(out[k] * ratio)))
            if k in ("median_window", "savgol_window") and v % 2 == 0:
                v += 1  # keep centred windows odd
            out[k] = v
    return out


def motion_feature_table(ds: xr.Dataset, mode: str, windows: Sequence[int]) -> pd.DataFrame:
    """Skeleton-free motion features (see :attr:`FeatureSpec.motion_features`).

    Returns
    -------
    pandas.DataFrame
        ``frame``, ``subject`` and float32 ``kp_speed_median``, ``kp_speed_max`` (space unit per
        time unit) and ``kp_speed_<median|max>_<mean|max>_<w>``; in pair mode prefixed ``a_`` /
        ``b_`` for the two animals of the subject ``"A|B"``.
    """
    import warnings

    from mapose.kinematics import speed
    from mapose.kinematics.windows import rolling_stats

    sp = speed(ds).transpose("time", "keypoints", "individuals").values  # (T, K, I)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames where every keypoint is missing
        base = {"kp_speed_median": np.nanmedian(sp, axis=1), "kp_speed_max": np.nanmax(sp, axis=1)}
    feats = dict(base)
    n_t, n_i = base["kp_speed_median"].shape
    if windows:
        flat = np.concatenate([base[k] for k in base], axis=1)  # (T, 2 * I)
        res = rolling_stats(flat, tuple(windows), ("mean", "max"))
        for (stat, w), arr in res.items():
            for j, k in enumerate(base):
                feats[f"{k}_{stat}_{w}"] = arr[:, j * n_i:(j + 1) * n_i]
    names = [str(v) for v in ds["individuals"].values]
    frames = np.asarray(ds["frame"].values, dtype=np.int64)
    if mode == "animal":
        pairs = [(i, None) for i in range(n_i)]
        subjects = names
    else:
        pairs = [(a, b) for a in range(n_i) for b in range(n_i) if a != b]
        subjects = [f"{names[a]}|{names[b]}" for a, b in pairs]
    cols: dict[str, np.ndarray] = {
        "frame": np.tile(frames, len(pairs)),
        "subject": np.repeat(np.asarray(subjects, dtype=object), n_t),
    }
    for k, arr in feats.items():
        if mode == "animal":
            cols[k] = arr.T.reshape(-1).astype(np.float32)
        else:
            cols[f"a_{k}"] = np.concatenate([arr[:, a] for a, _ in pairs]).astype(np.float32)
            cols[f"b_{k}"] = np.concatenate([arr[:, b] for _, b in pairs]).astype(np.float32)
    out = pd.DataFrame(cols)
    out["subject"] = out["subject"].astype(str)
    return out


def regions_for(spec: FeatureSpec, regions: Optional[Sequence[Any]], what: str = "pose data") -> tuple:
    """The regions ``spec`` uses, taken by name from ``regions`` (other regions are ignored).

    Raises :class:`ConfigError` naming the regions the classifier needs when some are missing.
    """
    if not spec.regions:
        return ()
    given = {r.name: r for r in regions or ()}
    missing = [n for n in spec.regions if n not in given]
    if missing:
        have = f"the regions given are {', '.join(given)}" if given else "no regions were given"
        raise ConfigError(
            f"{what}: the classifier uses the regions {', '.join(spec.regions)} but {have}; give a regions "
            "file with them, drawn on this video (--regions)")
    return tuple(given[n] for n in spec.regions)


def pose_features(ds: xr.Dataset, spec: FeatureSpec, what: str = "pose data",
                  regions: Optional[Sequence[Any]] = None) -> pd.DataFrame:
    """Feature table of prepared Tracks (see :func:`prepare_tracks`) following ``spec``.

    ``regions`` (:class:`mapose.core.regions.Region`, pixels of this video) must hold the regions
    named in ``spec.regions``; their ``in_`` / ``dist_`` columns join the features.

    Cleaning (``spec.cleaning``) runs first.  Windows are rescaled when the data's frame rate
    differs from ``spec.fps`` (a 15-frame window at 30 fps is 30 frames at 60 fps); the columns
    keep the names of the trained windows.

    Returns
    -------
    pandas.DataFrame
        ``frame``, ``subject`` and the float feature columns of
        :func:`mapose.kinematics.feature_table` (plus :func:`motion_feature_table`).
    """
    from mapose.config import from_dict
    from mapose.kinematics import CleaningConfig, FeatureConfig, check_feature_input, clean, feature_table

    check_feature_input(ds, what, mode=spec.mode)
    unit = str(ds.attrs.get("space_unit", "px"))
    if unit != spec.space_unit:
        hint = ("give the pixels per cm (--px-per-cm)" if spec.space_unit == "cm"
                else "the classifier was trained on uncalibrated pixels; do not calibrate")
        raise ConfigError(
            f"{what}: positions are in {unit!r} but the classifier was trained on "
            f"{spec.space_unit!r}; {hint}"
        )
    windows = list(spec.windows)
    data_fps = ds.attrs.get("fps")
    ratio = float(data_fps) / float(spec.fps) if (data_fps and spec.fps) else 1.0
    scaled = [max(1, int(round(w * ratio))) for w in windows]
    if len(set(scaled)) != len(scaled):
        raise ConfigError(
            f"{what}: at {data_fps} fps the windows {windows} (frames at {spec.fps} fps) collapse "
            f"to {scaled}; the frame rate is too low for this classifier"
        )
    if spec.cleaning:
        ds = clean(ds, from_dict(CleaningConfig, _scaled_cleaning(spec.cleaning, ratio), "cleaning"))
    cfg = from_dict(FeatureConfig, spec.feature_config) if spec.feature_config else None
    table = feature_table(ds, mode=spec.mode, windows=tuple(scaled), config=cfg,
                          regions=regions_for(spec, regions, what))
    if spec.motion_features:
        motion = motion_feature_table(ds, spec.mode, scaled)
        table = table.merge(motion, on=["frame", "subject"], how="left", validate="one_to_one")
    if scaled != windows:
        sub = _window_suffix_map(windows, scaled)
        table = table.rename(columns={c: _rename_window(c, sub) for c in table.columns})
    return table


def _rename_window(col: str, sub: Mapping[str, str]) -> str:
    for s, w in sub.items():
        if col.endswith(s):
            return col[: -len(s)] + w
    return col


def _check_annotation_table(ann: pd.DataFrame, what: str) -> pd.DataFrame:
    """A tidy annotation table: ``frame`` (and ``subject``, ``""`` when absent) with one row per
    (frame, subject); raise :class:`ValidationError` naming what is not.  Returns it with ``subject``."""
    if not isinstance(ann, pd.DataFrame):
        raise ValidationError(f"{what}: the annotations are a {type(ann).__name__}; expected a table (pandas "
                              "DataFrame, e.g. from mapose.io.annotations.read_annotations)")
    if "frame" not in ann.columns:
        raise ValidationError(f"{what}: the annotation table has no 'frame' column (it has "
                              f"{', '.join(map(str, ann.columns))}); tidy tables have frame, subject and one 0/1 "
                              "column per behaviour")
    attrs = dict(ann.attrs)
    if "subject" not in ann.columns:
        ann = ann.assign(subject="")  # one animal: the only subject of the features
    ann = ann.assign(subject=ann["subject"].fillna("").astype(str))
    ann.attrs.update(attrs)
    dup = ann.duplicated(["frame", "subject"])
    if dup.any():
        row = ann[dup].iloc[0]
        raise ValidationError(f"{what}: the annotations repeat frame {row['frame']}"
                              + (f" of {row['subject']!r}" if row["subject"] else "")
                              + f" ({int(dup.sum())} repeated row(s)); give each frame once")
    return ann


def _check_behaviour_values(ann: pd.DataFrame, behaviours: Sequence[str], what: str) -> None:
    """Raise :class:`ValidationError` when a behaviour column holds anything but 0 and 1."""
    for b in behaviours:
        if b in ann.columns:
            vals = ann[b]
            bad = ~vals.isin([0, 1])
            if bad.any():
                shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in pd.unique(vals[bad])[:3])
                raise ValidationError(f"{what}: behaviour {b!r} has values other than 0 and 1 ({shown}, first at "
                                      f"frame {ann.loc[bad, 'frame'].iloc[0]}); write 1 where it happens and 0 "
                                      "where it does not (an empty cell is not read as 0)")


def _match_subjects(labels: pd.DataFrame, subjects: Sequence[str], what: str) -> pd.DataFrame:
    """Map the annotation subject ``""`` to the only subject of the features."""
    labels = labels.copy()
    blank = (labels["subject"] == "").to_numpy()
    if blank.any():
        if len(subjects) != 1:
            if not blank.all():  # a subject column with empty cells (a row cut short?)
                raise ValidationError(
                    f"{what}: some annotation rows name no animal (an empty animal cell; a row cut short?) "
                    f"but the features have {len(subjects)} subjects ({', '.join(subjects[:6])}); fill it in")
            raise ValidationError(
                f"{what}: the annotations do not say which animal (no subject column) but the "
                f"features have {len(subjects)} subjects ({', '.join(subjects[:6])}); add an "
                f"animal/subject column"
            )
        labels.loc[labels["subject"] == "", "subject"] = subjects[0]
    unknown = sorted(set(labels["subject"]) - set(subjects))
    if unknown:
        raise ValidationError(
            f"{what}: annotated subject(s) {unknown} not found in the pose data; subjects: "
            f"{', '.join(subjects)}"
        )
    return labels


def training_table(
    features: Sequence[pd.DataFrame],
    annotations: Sequence[pd.DataFrame],
    behaviours: Optional[Sequence[str]] = None,
    sessions: Optional[Sequence[str]] = None,
    unannotated: str = "absent",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join per-session feature tables with their annotation tables.

    Parameters
    ----------
    features
        One feature table per session (``frame``, ``subject``, features).
    annotations
        One tidy annotation table per session (``frame``, ``subject``, 0/1 behaviours).
    behaviours
        Behaviours to learn (default: union of all annotation columns, in first-seen order);
        a behaviour absent from a session's annotations counts as never happening there.
    sessions
        Session names (default ``session0``, ...); used as cross-validation groups.
    unannotated
        Feature rows without an annotation row: ``"absent"`` (behaviour did not happen) or
        ``"drop"`` (not used for training).  Tables that list only the frames someone looked at
        (``attrs["annotated_only"]``: interval files with ``(annotated)`` rows,
        :data:`mapose.io.annotations.ANNOTATED`) always drop the others; frames annotated for
        every subject (``attrs["annotated_for_all"]``) count for animals without a bout too.
        Rows where the animal (or one of the pair) is not seen at all are left out
        (:func:`mapose.kinematics.unseen_rows`): their features say nothing.

    Returns
    -------
    X, y
        ``X`` has ``session``, ``frame``, ``subject`` and the feature columns; ``y`` the 0/1
        behaviour columns, aligned row by row.
    """
    from mapose.kinematics import unseen_rows

    if isinstance(features, pd.DataFrame):  # one session given as itself rather than in a list
        features = [features]
    if isinstance(annotations, pd.DataFrame):
        annotations = [annotations]
    if len(features) != len(annotations):
        raise ValidationError(f"{len(features)} feature tables but {len(annotations)} annotation tables")
    if not features:
        raise ValidationError("training needs at least one session")
    if unannotated not in ("absent", "drop"):
        raise ConfigError(f"unannotated must be 'absent' or 'drop', got {unannotated!r}")
    sessions = list(sessions) if sessions is not None else [f"session{i}" for i in range(len(features))]
    if isinstance(behaviours, str):
        behaviours = [behaviours]
    annotations = [_check_annotation_table(a, f"session {s!r}") for s, a in zip(sessions, annotations)]
    if behaviours is None:
        behaviours = list(dict.fromkeys(
            c for a in annotations for c in a.columns if c not in ("frame", "subject")))
    for sess, feat in zip(sessions, features):
        check_table(feat, f"session {sess!r}: the feature table", ("frame", "subject"), "pose_features")
    Xs, Ys = [], []
    for sess, feat, ann in zip(sessions, features, annotations):
        _check_behaviour_values(ann, behaviours, f"session {sess!r}")
        subjects = list(dict.fromkeys(feat["subject"].astype(str)))
        sparse = bool(ann.attrs.get("annotated_only"))
        for_all = list(ann.attrs.get("annotated_for_all") or ())
        ann = _match_subjects(ann, subjects, sess)
        for b in behaviours:
            if b not in ann.columns:
                ann[b] = 0
        lab = ann[["frame", "subject"] + list(behaviours)]
        if sparse:
            merged = feat.merge(lab, on=["frame", "subject"], how="left", validate="one_to_one",
                                indicator="_annotated")
            looked = (merged.pop("_annotated") == "both").to_numpy().copy()
            frame = merged["frame"].to_numpy()
            for a, b in for_all:
                looked |= (frame >= a) & (frame < b)
            merged = merged[looked].reset_index(drop=True)
        else:
            how = "left" if unannotated == "absent" else "inner"
            merged = feat.merge(lab, on=["frame", "subject"], how=how, validate="one_to_one")
        if len(ann) and not np.isin(ann["frame"].to_numpy(), feat["frame"].to_numpy()).any():
            raise ValidationError(
                f"session {sess!r}: no annotated frame is among the pose frames (annotations "
                f"{int(ann['frame'].min())}..{int(ann['frame'].max())}, pose {int(feat['frame'].min())}.."
                f"{int(feat['frame'].max())}); are they of this video?")
        merged = merged[~unseen_rows(merged)].reset_index(drop=True)
        yb = merged[list(behaviours)].fillna(0).astype(np.int64)
        xb = merged.drop(columns=list(behaviours))
        xb.insert(0, "session", sess)
        Xs.append(xb)
        Ys.append(yb)
    return pd.concat(Xs, ignore_index=True), pd.concat(Ys, ignore_index=True)


# ============================================================================ pose classifier
@dataclass
class PoseClassifier:
    """A :class:`BehaviourClassifier` with the recipe that turns pose into its features.

    Attributes
    ----------
    classifier
        The fitted table classifier.
    spec
        :class:`FeatureSpec` (keypoints, mode, windows, fps, space unit).
    skeleton_json
        The training skeleton (after renames and keypoint selection), JSON.
    info
        Free provenance (training files, library versions), saved in the manifest.
    """

    classifier: BehaviourClassifier
    spec: FeatureSpec
    skeleton_json: str = ""
    info: dict = field(default_factory=dict)

    @property
    def behaviours(self) -> list[str]:
        return list(self.classifier.behaviours_)

    def features(self, ds: xr.Dataset, *, rename=None, px_per_cm=None, fps=None,
                 what: str = "pose data", regions=None) -> pd.DataFrame:
        """Feature table of raw Tracks (renamed, checked against the skeleton, calibrated);
        ``regions`` of this video when the classifier uses some (``spec.regions``)."""
        ds = prepare_tracks(ds, rename=rename, keypoints=self.spec.keypoints, px_per_cm=px_per_cm,
                            fps=fps, what=what)
        return pose_features(ds, self.spec, what=what, regions=regions)

    def min_bout_for(self, fps: Optional[float]) -> int:
        """Minimum bout (frames) at the frame rate ``fps`` of new data."""
        mb = int(self.classifier.min_bout)
        if fps and self.spec.fps:
            return max(1, int(round(mb * float(fps) / float(self.spec.fps))))
        return mb

    def predict_tracks(self, ds: xr.Dataset, *, rename=None, px_per_cm=None, fps=None,
                       what: str = "pose data", regions=None) -> pd.DataFrame:
        """Score every frame and subject of Tracks (``regions``: see :meth:`features`).

        Returns
        -------
        pandas.DataFrame
            ``frame``, ``subject``, then per behaviour ``B_prob`` (probability) and ``B`` (0/1
            after thresholding and minimum-bout smoothing), one row per frame and subject.  Where
            the animal (in pair mode, either animal) is not seen at all, ``B_prob`` is NaN and ``B``
            is 0: nothing is claimed about it (:func:`mapose.kinematics.unseen_rows`).
        """
        from mapose.kinematics import unseen_rows

        feats = self.features(ds, rename=rename, px_per_cm=px_per_cm, fps=fps, what=what, regions=regions)
        unseen = unseen_rows(feats)
        data_fps = fps or ds.attrs.get("fps")
        clf = self.classifier
        proba = clf.predict_proba(feats)
        old = clf.min_bout
        clf.min_bout = self.min_bout_for(data_fps)
        try:
            pred = clf.predict(feats, proba=proba)
        finally:
            clf.min_bout = old
        out = feats[["frame", "subject"]].copy()
        for b in clf.behaviours_:
            out[f"{b}_prob"] = np.where(unseen, np.nan, proba[b].to_numpy())
            out[b] = np.where(unseen, 0, pred[b].to_numpy())
        return out.sort_values(["subject", "frame"], kind="stable").reset_index(drop=True)


def _regions_per_session(regions: Optional[Sequence[Any]], n: int) -> list[tuple]:
    """``regions`` as one tuple per session: a flat list is shared, a list of lists is per session
    (one list for all allowed); every session must name the same regions."""
    from mapose.core.regions import Region, check_regions

    if not regions:
        return [()] * n
    if all(isinstance(r, Region) for r in regions):
        lists = [check_regions(regions)] * n
    else:
        lists = [check_regions(r, f"regions of session {i}") for i, r in enumerate(regions)]
        if len(lists) == 1:
            lists = lists * n
        if len(lists) != n:
            raise ConfigError(f"give one set of regions for all sessions or one per session; got {len(lists)} for {n}")
    names = [sorted(r.name for r in rs) for rs in lists]
    for i, nm in enumerate(names[1:], 1):
        if nm != names[0]:
            raise ConfigError(f"the regions of session {i} are named {', '.join(nm)} but those of session 0 "
                              f"{', '.join(names[0])}; every session needs regions of the same names")
    return [tuple(sorted(rs, key=lambda r: r.name)) for rs in lists]


def train_classifier(
    tracks: Sequence[xr.Dataset],
    annotations: Sequence[pd.DataFrame],
    *,
    behaviours: Optional[Sequence[str]] = None,
    mode: str = "animal",
    windows: Sequence[int] = (5, 15, 45),
    keypoints: Optional[Sequence[str]] = None,
    rename: Optional[Mapping[str, str]] = None,
    px_per_cm: Union[None, float, Sequence[Optional[float]]] = None,
    fps: Optional[float] = None,
    feature_config: Optional[Mapping[str, Any]] = None,
    cleaning: Optional[Mapping[str, Any]] = None,
    motion_features: bool = True,
    regions: Optional[Sequence[Any]] = None,
    sessions: Optional[Sequence[str]] = None,
    importance: bool = False,
    **classifier_params: Any,
) -> PoseClassifier:
    """Train a behaviour classifier from pose files and their annotations.

    Parameters
    ----------
    tracks
        One Tracks per session (video).
    annotations
        Tidy annotation tables (:func:`mapose.io.annotations.read_annotations`), paired with
        ``tracks`` by order.
    behaviours
        Behaviours to learn (default: all annotated).
    mode, windows
        Feature mode and window sizes (frames) of :func:`mapose.kinematics.feature_table`.
    keypoints
        Body parts to use (default: those of the first session, after ``rename``); every session
        must have them.
    rename
        Body-part renames applied to every session.
    px_per_cm
        One value for all sessions or one per session (``None`` entries allowed only if all are
        ``None``): positions are converted to cm so speeds mean the same in every setup.
    fps
        Frame rate for sessions whose Tracks have none.
    feature_config, cleaning, motion_features
        See :class:`FeatureSpec`.
    regions
        Regions of interest (:class:`mapose.core.regions.Region`, pixels) whose ``in_`` /
        ``dist_`` features join the others: one list for every session (a fixed camera), or one
        list per session, each with the same region names.
    sessions
        Session names (cross-validation groups); default ``session0``...
    importance
        Also compute permutation importance on the last cross-validation fold's held-out
        sessions (stored in ``info["importance"]`` as records).
    **classifier_params
        Passed to :class:`BehaviourClassifier` (``estimator``, ``min_bout``, ``n_splits`` ...).

    Returns
    -------
    PoseClassifier
    """
    from mapose.core import get_skeleton
    from mapose.kinematics.windows import check_windows

    if isinstance(tracks, xr.Dataset):  # one session given as itself rather than in a list
        tracks = [tracks]
    if isinstance(annotations, pd.DataFrame):
        annotations = [annotations]
    if isinstance(behaviours, str):
        behaviours = [behaviours]
    for i, ds in enumerate(tracks):
        if not isinstance(ds, xr.Dataset):
            raise ValidationError(f"tracks[{i}] is a {type(ds).__name__}; expected Tracks (an xarray.Dataset, "
                                  "e.g. from mapose.io.read_tracks)")
    if len(tracks) != len(annotations):
        raise ValidationError(
            f"{len(tracks)} pose files but {len(annotations)} annotation files; they are paired by order"
        )
    n = len(tracks)
    if px_per_cm is None or np.isscalar(px_per_cm):
        cal = [px_per_cm] * n
    else:
        cal = list(px_per_cm)
        if len(cal) == 1:
            cal = cal * n
        if len(cal) != n:
            raise ConfigError(f"give one px/cm value for all files or one per file; got {len(cal)} for {n}")
    if any(c is None for c in cal) and not all(c is None for c in cal):
        raise ConfigError("px/cm given for some files but not others; calibrate all or none")
    per_session = _regions_per_session(regions, n)
    names = sessions or [str(ds.attrs.get("source_file") or f"session{i}") for i, ds in enumerate(tracks)]
    if len(set(names)) != len(names):
        names = [f"{nm}#{i}" for i, nm in enumerate(names)]
    prepared = [prepare_tracks(ds, rename=rename, px_per_cm=c, fps=fps, what=nm)
                for ds, c, nm in zip(tracks, cal, names)]
    if keypoints is None:
        keypoints = [str(k) for k in prepared[0]["keypoints"].values]
    prepared = [prepare_tracks(ds, keypoints=keypoints, what=nm) for ds, nm in zip(prepared, names)]
    fps_set = {ds.attrs.get("fps") for ds in prepared}
    if len(fps_set) > 1:
        raise ConfigError(
            f"training files have different frame rates {sorted(map(str, fps_set))}; windows are in "
            f"frames, so train on files of one frame rate"
        )
    spec = FeatureSpec(
        keypoints=tuple(keypoints), mode=mode, windows=check_windows(windows),
        fps=next(iter(fps_set)), space_unit="cm" if cal[0] is not None else "px",
        feature_config=dict(feature_config or {}), cleaning=dict(cleaning or {}),
        motion_features=bool(motion_features),
        regions=tuple(r.name for r in per_session[0]),
    )
    feats = [pose_features(ds, spec, what=nm, regions=rg) for ds, nm, rg in zip(prepared, names, per_session)]
    X, y = training_table(feats, annotations, behaviours=behaviours, sessions=names)
    clf = BehaviourClassifier(behaviours=behaviours, **classifier_params).fit(X, y)
    info: dict[str, Any] = {"sessions": names, "n_rows": int(len(X)),
                            "positives": {b: int(y[b].sum()) for b in clf.behaviours_}}
    if importance:
        _, folds = grouped_folds(X["session"].to_numpy(), int(clf.n_splits), order=X["frame"].to_numpy())
        tr, te = folds[-1]
        held = BehaviourClassifier(**{**clf.get_params(), "threshold": 0.5}).fit(
            X.iloc[tr].reset_index(drop=True), y.iloc[tr].reset_index(drop=True), cross_validate=False)
        imp = held.permutation_importance(X.iloc[te].reset_index(drop=True), y.iloc[te].reset_index(drop=True))
        info["importance"] = imp.to_dict(orient="records")
    sk = get_skeleton(prepared[0])
    return PoseClassifier(classifier=clf, spec=spec, skeleton_json=sk.to_json(), info=info)


# ============================================================================ persistence
def _versions() -> dict[str, str]:
    import sklearn

    from mapose import __version__

    out = {"mapose": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
           "pandas": pd.__version__, "python": platform.python_version()}
    try:
        import skops

        out["skops"] = skops.__version__
    except ImportError:  # pragma: no cover - skops is a dependency
        pass
    return out


def save_classifier(model: PoseClassifier, folder: Union[str, Path]) -> Path:
    """Save a classifier to a folder: ``manifest.json`` + ``estimators.skops`` (no pickle).

    The manifest holds the behaviours, feature names, thresholds, minimum bout, the feature
    recipe (keypoints, windows, mode, fps, calibration unit), the skeleton, validation metrics and
    library versions.  Both files are written atomically.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import skops.io as sio

    from mapose.io._files import atomic_path, atomic_write_text

    clf = model.classifier
    clf._check_fitted()
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: exists and is not a folder; a classifier is saved as a folder")
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / MODEL_FILE) as tmp:
        sio.dump({b: clf.estimators_[b] for b in clf.behaviours_}, tmp)
    cv = clf.cv_.get("metrics", {}) if getattr(clf, "cv_", None) else {}
    manifest = {
        "format": "mapose-behaviour-classifier",
        "format_version": FORMAT_VERSION,
        "behaviours": list(clf.behaviours_),
        "feature_names": list(clf.feature_names_),
        "thresholds": {b: float(t) for b, t in clf.thresholds_.items()},
        "fill_values": [float(v) for v in clf.fill_values_],
        "params": _jsonable(clf.get_params()),
        "features": model.spec.to_dict(),
        "skeleton": json.loads(model.skeleton_json) if model.skeleton_json else None,
        "validation": _jsonable({b: {k: v for k, v in m.items()} for b, m in cv.items()}),
        "validation_folds": clf.cv_.get("folds") if getattr(clf, "cv_", None) else None,
        "validation_fold_unit": clf.cv_.get("fold_unit") if getattr(clf, "cv_", None) else None,
        "info": _jsonable({k: v for k, v in model.info.items() if k != "importance"}),
        "versions": _versions(),
    }
    atomic_write_text(folder / MANIFEST_FILE, json.dumps(manifest, indent=2, allow_nan=True))
    return folder


def load_classifier(folder: Union[str, Path]) -> PoseClassifier:
    """Load a classifier saved by :func:`save_classifier`.

    Only scikit-learn tree types in :data:`TRUSTED_TYPES` (and skops' built-in safe types) are
    accepted; a file holding anything else is refused with :class:`FormatError`.
    """
    import skops.io as sio

    from mapose.io._files import read_json, require_file, require_model_folder

    folder = require_model_folder(folder, "behaviour classifier")
    mpath = require_file(folder / MANIFEST_FILE, "classifier manifest")
    epath = require_file(folder / MODEL_FILE, "classifier estimators")
    man = read_json(mpath, "classifier manifest")
    if man.get("format") != "mapose-behaviour-classifier":
        raise FormatError(f"{mpath}: not a mapose behaviour classifier manifest")
    if int(man.get("format_version", 0)) > FORMAT_VERSION:
        raise FormatError(
            f"{mpath}: format version {man.get('format_version')} is newer than this mapose "
            f"understands ({FORMAT_VERSION}); update mapose"
        )
    try:
        untrusted = sio.get_untrusted_types(file=epath)
    except Exception as exc:  # skops raises several types on corrupt files
        raise FormatError(f"{epath}: not a readable skops file ({exc})") from None
    bad = [t for t in untrusted if t not in TRUSTED_TYPES]
    if bad:
        raise FormatError(
            f"{epath}: refusing to load types that a behaviour classifier does not contain: "
            f"{', '.join(bad)}"
        )
    estimators = sio.load(epath, trusted=list(untrusted))
    try:
        behaviours = list(man["behaviours"])
        if sorted(estimators) != sorted(behaviours):
            raise FormatError(f"{folder}: estimators for {sorted(estimators)} but manifest lists {behaviours}")
        clf = BehaviourClassifier(**{k: (tuple(v) if isinstance(v, list) else v)
                                     for k, v in man["params"].items()})
        clf.behaviours_ = behaviours
        clf.feature_names_ = list(man["feature_names"])
        clf.thresholds_ = {b: float(t) for b, t in man["thresholds"].items()}
        clf.fill_values_ = np.asarray(man["fill_values"], dtype=np.float32)
        clf.estimators_ = {b: estimators[b] for b in behaviours}
        clf.cv_ = {"metrics": man.get("validation") or {}, "folds": man.get("validation_folds"),
                   "fold_unit": man.get("validation_fold_unit")}
        f = man["features"]
        spec = FeatureSpec(keypoints=tuple(f["keypoints"]), mode=f["mode"], windows=tuple(f["windows"]),
                           fps=f.get("fps"), space_unit=f.get("space_unit", "px"),
                           feature_config=f.get("feature_config") or {},
                           cleaning=f.get("cleaning") or {},
                           motion_features=bool(f.get("motion_features", False)),
                           regions=tuple(f.get("regions") or ()))
    except (KeyError, TypeError, AttributeError) as exc:  # a manifest edited or cut short
        what = f"no {exc.args[0]!r} entry" if isinstance(exc, KeyError) else str(exc)
        raise FormatError(f"{mpath}: the classifier manifest is damaged or incomplete ({what}); train the "
                          "classifier again") from None
    sk = json.dumps(man["skeleton"]) if man.get("skeleton") else ""
    return PoseClassifier(classifier=clf, spec=spec, skeleton_json=sk,
                          info={"versions": man.get("versions", {}), **(man.get("info") or {})})


def bout_table(predictions: pd.DataFrame, behaviours: Sequence[str], fps: Optional[float] = None) -> pd.DataFrame:
    """Bouts of every predicted behaviour and subject.

    Parameters
    ----------
    predictions
        Output of :meth:`PoseClassifier.predict_tracks` (``frame``, ``subject``, 0/1 columns).
    behaviours
        Behaviour columns.
    fps
        Frames per second; adds ``start_s`` / ``duration_s`` columns when given.

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``behaviour``, ``start``, ``stop`` (exclusive), ``length`` (frames), mean
        probability ``mean_prob`` [, ``start_s``, ``duration_s``].
    """
    from mapose.io._files import check_fps

    fps = check_fps(fps or None, "bout_table")  # 0 means unknown, as in files
    check_table(predictions, "the prediction table", ("frame", "subject"), "PoseClassifier.predict_tracks")
    missing = [b for b in behaviours if b not in predictions.columns]
    if missing:
        raise ValidationError(f"bout_table: no column for behaviour(s) {', '.join(map(repr, missing))}; "
                              f"the predictions have {', '.join(map(str, predictions.columns))}")
    rows = []
    for subj, part in predictions.groupby("subject", sort=False):
        part = part.sort_values("frame")
        frames = part["frame"].to_numpy()
        for b in behaviours:
            bouts = find_bouts(part[b].to_numpy(), ignore=(0,))
            prob = part[f"{b}_prob"].to_numpy() if f"{b}_prob" in part else None
            for s, e, ln in zip(bouts["start"], bouts["stop"], bouts["length"]):
                rows.append({"subject": subj, "behaviour": b, "start": int(frames[s]),
                             "stop": int(frames[e - 1]) + 1, "length": int(ln),
                             "mean_prob": float(prob[s:e].mean()) if prob is not None else np.nan})
    out = pd.DataFrame(rows, columns=["subject", "behaviour", "start", "stop", "length", "mean_prob"])
    if fps:
        out["start_s"] = out["start"] / float(fps)
        out["duration_s"] = out["length"] / float(fps)
    return out
