"""Find the arena of a session: from the video's background, or from where the animals went.

An open field, a dish or a cage rarely sits at the same pixels in every video (the camera is
moved, the dish is placed by hand), so regions drawn once do not fit the next video.  The arena
found here is a :class:`~mapose.core.regions.Region` like any drawn one, and the zones defined
relative to it (:meth:`Region.shrunk` for the centre, :meth:`Region.band` for the wall zone)
follow it from video to video.  A regions file asks for it with ``detect:`` (see
:mod:`mapose.io.regions`).

- :func:`detect_arena` looks at the **background** (the median of frames spread over the video,
  where the animals have moved away): the floor, the dish or its rim usually differs in
  brightness from the surroundings.  Bright and dark areas (Otsu's threshold) are candidates,
  their holes filled (a bright rim becomes the disc it encloses), ragged ones left out; the smallest that holds nearly
  all of the animals' positions wins (without positions: the largest that is not the whole frame).
- :func:`arena_from_tracks` needs no video: the shape that encloses the animals' positions.  It
  is as good as the animals' exploration -- an animal that never went into a corner leaves it
  out -- so ``margin`` adds the body half-width.

The shape is a circle, a (possibly rotated) rectangle or a polygon; ``"auto"`` takes the circle
or rectangle when it overlaps the area found by at least 95 % (intersection over union), else
the polygon.  Concave floors (mazes) are not detected in videos -- to the detector they look like
ragged patches of texture -- so draw them (the dashboard's Regions page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from mapose.core.regions import Region
from mapose.errors import ValidationError

SHAPES = ("auto", "circle", "rectangle", "polygon")
#: intersection over union a circle or rectangle needs with the area found for ``shape="auto"``
AUTO_IOU = 0.95
#: share of the animals' positions the detected arena must hold (within 3 % of the frame's size)
MIN_INSIDE = 0.9
#: an area must fill this share of its convex hull (ragged patches of texture are not arenas)
MIN_SOLIDITY = 0.9
#: an area covering this share of the frame is not taken for an arena
FRAME_SHARE = 0.95


def _check_shape(shape: str) -> str:
    if shape not in SHAPES:
        raise ValidationError(f"arena shape {shape!r}: allowed {', '.join(SHAPES)}")
    return shape


def video_background(video: Union[str, Path], n_frames: int = 40) -> np.ndarray:
    """``(H, W)`` uint8 grey median of ``n_frames`` frames spread evenly over ``video`` (moving
    animals vanish from it).  Reads one frame at a time."""
    from mapose.io.video import VideoReader

    with VideoReader(video) as reader:
        idx = np.unique(np.linspace(0, len(reader) - 1, max(1, int(n_frames))).round().astype(int))
        grey = [reader[int(i)].mean(axis=2).astype(np.uint8) for i in idx]
    return np.median(np.stack(grey), axis=0).astype(np.uint8)


def _iou(a, b) -> float:
    union = a.union(b).area
    return float(a.intersection(b).area / union) if union > 0 else 0.0


def _fit(outline, shape: str, name: str, margin: float = 0.0, enclose: bool = False) -> Region:
    """The circle / rectangle / polygon of ``shape`` for a shapely polygon ``outline`` (grown by
    ``margin`` pixels).  A filled area's circle has its area about its centroid (exact for a disc,
    deaf to small bumps); with ``enclose`` (a cloud of positions) it is the enclosing circle."""
    import cv2
    import shapely

    hull = np.asarray(outline.convex_hull.exterior.coords, dtype=np.float32)
    if enclose:
        (cx, cy), r = cv2.minEnclosingCircle(hull)
    else:
        cx, cy, r = outline.centroid.x, outline.centroid.y, np.sqrt(outline.area / np.pi)
    circle = Region.circle(name, float(cx), float(cy), float(r) + margin)
    (rx, ry), (rw, rh), angle = cv2.minAreaRect(hull)
    box = cv2.boxPoints(((rx, ry), (rw + 2 * margin, rh + 2 * margin), angle))
    rect = Region.polygon(name, box.astype(np.float64))
    if shape == "circle":
        return circle
    if shape == "rectangle":
        return rect
    poly = outline if not margin else outline.buffer(margin, join_style="mitre")
    poly = shapely.simplify(poly, tolerance=max(1.0, 0.002 * poly.length))
    polygon = Region.polygon(name, np.asarray(poly.exterior.coords)[:, :2])
    if shape == "polygon":
        return polygon
    best = max((circle, rect), key=lambda r: _iou(r.geometry, poly))
    return best if _iou(best.geometry, poly) >= AUTO_IOU else polygon


def _candidates(grey: np.ndarray) -> list:
    """Filled outlines (shapely polygons) of the bright and the dark areas of a background."""
    import cv2
    import shapely

    h, w = grey.shape
    k = max(3, (min(h, w) // 100) | 1)
    blur = cv2.GaussianBlur(grey, (k, k), 0)
    _, bright = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    out = []
    for mask in (bright, 255 - bright):
        # as thresholded (a thin rim survives), and opened (thin bridges to the surroundings cut)
        for m in (mask, cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)):
            contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for cnt in contours:  # the external outline: holes (animals, a rim's inside) are filled
                if cv2.contourArea(cnt) < 0.02 * h * w or len(cnt) < 3:
                    continue
                poly = shapely.make_valid(shapely.Polygon(cnt[:, 0, :].astype(np.float64)))
                if not isinstance(poly, shapely.Polygon):  # a self-touching outline: its largest part
                    parts = [g for g in getattr(poly, "geoms", []) if isinstance(g, shapely.Polygon)]
                    if not parts:
                        continue
                    poly = max(parts, key=lambda g: g.area)
                poly = shapely.Polygon(poly.exterior)
                if poly.area >= MIN_SOLIDITY * poly.convex_hull.area:  # arenas are not ragged
                    out.append(poly)
    return out


def detect_arena(background: Union[np.ndarray, str, Path], points: Optional[np.ndarray] = None,
                 shape: str = "auto", name: str = "arena") -> Region:
    """The arena in a video's background (``(H, W)`` grey or ``(H, W, 3)`` image, or a video path,
    whose :func:`video_background` is taken).

    ``points`` ``(..., 2)``: the animals' positions (NaN ignored); the arena is the smallest
    bright or dark area holding at least :data:`MIN_INSIDE` of them (counting those within 3 % of
    the frame's size of its edge: rearing animals reach over the wall).  An area covering
    :data:`FRAME_SHARE` of the frame is never taken.

    Raises
    ------
    ValidationError
        When no area of the background stands out (or none holds the animals): draw the arena, or
        use :func:`arena_from_tracks`.
    """
    import shapely

    _check_shape(shape)
    where = str(background) if isinstance(background, (str, Path)) else "the background"
    img = video_background(background) if isinstance(background, (str, Path)) else np.asarray(background)
    if img.ndim == 3:
        img = img.mean(axis=2)
    img = np.asarray(img, dtype=np.uint8)
    h, w = img.shape
    found = _candidates(img)
    cands = [c for c in found if c.area < FRAME_SHARE * h * w]
    if not cands:
        what = "the only area that stands out is the whole frame" if found else "no bright or dark area stands out"
        raise ValidationError(f"no arena found in {where}: {what}; draw the arena, or take it from the tracks "
                              "(detect: tracks)")
    if points is not None:
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy) > 20000:
            xy = xy[np.linspace(0, len(xy) - 1, 20000).astype(int)]
        if len(xy):
            # the hull: an animal resting at the wall all video long leaves a notch in the background;
            # a band around it: rearing animals reach over the wall (perspective)
            reach = 0.03 * min(h, w)
            share = [float(shapely.intersects_xy(c.convex_hull.buffer(reach), xy[:, 0], xy[:, 1]).mean())
                     for c in cands]
            holding = [c for c, s in zip(cands, share) if s >= MIN_INSIDE]
            if not holding:
                raise ValidationError(
                    f"no arena found in {where}: no bright or dark area holds {100 * MIN_INSIDE:.0f} % of the "
                    f"animals' positions (best {100 * max(share):.0f} %); draw the arena, or take it from the "
                    "tracks (detect: tracks)")
            return _fit(min(holding, key=lambda c: c.area), shape, name)
    best = max(cands, key=lambda c: c.area)
    return _fit(best, shape, name)


def arena_from_tracks(points, shape: str = "auto", name: str = "arena", margin: float = 0.0,
                      trim: float = 0.001) -> Region:
    """The circle / rectangle / polygon (convex hull) enclosing the animals' positions.

    ``points``: a tracks Dataset (every keypoint of every animal) or an array ``(..., 2)``.
    ``trim``: share of positions farthest from their median left out (stray detections);
    ``margin``: pixels added around (the body half-width: keypoints do not reach the wall).
    """
    import shapely

    _check_shape(shape)
    if hasattr(points, "data_vars"):
        points = points["position"].transpose(..., "space").values
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(np.unique(xy, axis=0)) < 3:
        raise ValidationError(f"arena from tracks: needs positions at 3 places or more, got {len(xy)} position(s)")
    if trim > 0 and len(xy) > 100:
        d = np.hypot(*(xy - np.median(xy, axis=0)).T)
        xy = xy[d <= np.quantile(d, 1.0 - trim)]
    hull = shapely.MultiPoint(xy).convex_hull
    if not isinstance(hull, shapely.Polygon) or hull.area <= 0:
        raise ValidationError("arena from tracks: the positions lie on one line")
    return _fit(hull, shape, name, margin=float(margin), enclose=True)


def arena_finder(tracks=None, video: Union[str, Path, None] = None):
    """The ``detect`` function :func:`mapose.io.read_regions` takes for ``detect:`` entries of one
    session: ``"video"`` looks at the background of ``video`` (choosing with the tracks'
    positions), ``"tracks"`` at the tracks.  ``margin`` grows (or, negative, shrinks) what is found.
    The region returned notes how it was found (``recipe``), so it can be saved as a template."""
    cache: dict = {}

    def detect(name: str, source: str, shape: str, margin: float) -> Region:
        recipe = {"detect": source, "shape": shape, "margin": float(margin)}
        return find(name, source, shape, margin).with_recipe(recipe)

    def find(name: str, source: str, shape: str, margin: float) -> Region:
        if source == "tracks":
            if tracks is None:
                raise ValidationError("detect: tracks needs the session's tracks")
            return arena_from_tracks(tracks, shape, name, margin=margin)
        if not video:
            raise ValidationError("detect: video needs the session's video (--video, or a pose file that names "
                                  "its video)")
        if "background" not in cache:
            cache["background"] = video_background(video)
        pts = None if tracks is None else tracks["position"].transpose(..., "space").values
        found = detect_arena(cache["background"], pts, shape, name)
        if not margin:
            return found
        grown = found.geometry.buffer(float(margin), join_style="mitre")
        if grown.is_empty or not grown.geom_type == "Polygon":
            raise ValidationError(f"margin {margin:g} px leaves no single area of the arena")
        return Region(name, grown)

    return detect
