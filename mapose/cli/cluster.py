"""``mapose cluster``: discover behaviours without labels (per animal or per pair).

Fit a new model::

    mapose cluster a.h5 b.h5 --out results/ [--config cluster.yaml] [--mode pair] [--seed 0]

Label new sessions with a saved model::

    mapose cluster c.h5 --model results/model --out results_c/

Writes ``labels.csv`` (``session`` = input file stem, ``frame``, ``subject`` = animal or ``A|B``,
``cluster`` with -1 = noise or the animal not seen), ``cluster_stats.csv``, ``transitions.csv``,
``transition_graph.json``, ``typical_bouts.csv`` / ``.json``, ``cluster_profiles.csv`` (each cluster's
typical value of each per-frame feature and how far it sits from all frames:
:func:`mapose.behaviour.clustering.cluster_profiles`), in pair mode ``cluster_mirrors.csv`` (the cluster
each one is seen as from the partner's side: :func:`mapose.behaviour.clustering.mirror_clusters`) and
``dyad_events.csv`` (one row per pair of animals and frame: a cluster and its mirror as one event, and
which animal plays the part its lowest cluster describes: :func:`mapose.behaviour.clustering.dyad_events`;
with ``dyad_stats.csv`` and ``dyad_ethogram.png``), ``summary.json``; with ``--regions``,
where each cluster happens (``cluster_regions.csv``: :func:`mapose.behaviour.regions.behaviour_by_region`);
plots (``ethogram.png``, ``transitions.png``, ``cluster_stats.png``, ``cluster_profiles.png``,
``cluster_regions.png``,
``embedding.png`` when fitting), the resolved ``config.yaml`` and, when fitting, the saved model in
``model/``.
"""

from __future__ import annotations

HELP = "discover behaviours by clustering (UMAP + HDBSCAN), per animal or per pair; or label with a saved model"

#: At most this many (session, subject) rows are drawn in the ethogram.
MAX_ETHOGRAM_ROWS = 12


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="IN", help="pose files (one session each)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--config", default=None, help="YAML with ClusterConfig keys")
    parser.add_argument("--mode", choices=("animal", "pair"), default=None,
                        help="cluster each animal (egocentric features) or each ordered pair "
                             "(social features); overrides the config")
    parser.add_argument("--seed", type=int, default=None, help="random seed (overrides the config)")
    parser.add_argument("--model", default=None,
                        help="a saved model: label the inputs with it instead of fitting (the --out folder of an "
                             "earlier 'mapose cluster', or its model/ subfolder)")
    parser.add_argument("--format", default=None, help="force the input format (default: sniffed)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate when files lack one")
    parser.add_argument("--typical", type=int, default=5, help="typical bouts listed per cluster")
    parser.add_argument("--regions", nargs="+", default=None, metavar="R",
                        help="regions files (.yaml or .geojson; one for all inputs or one per input, as for "
                             "mapose regions): also write where each cluster happens (cluster_regions.csv / .png)")
    parser.add_argument("--keypoint", default=None,
                        help="with --regions: the point tested against them (a keypoint name, or centroid, the "
                             "default: the mean of the keypoints seen); a pair's is its first animal's")


def _read_inputs(paths, fmt, fps):
    from pathlib import Path

    from tqdm import tqdm

    from mapose import io
    from mapose.errors import ValidationError
    from mapose.kinematics import check_feature_input

    stems = [Path(p).stem for p in paths]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValidationError(
            f"several inputs share the file stem(s) {dup[:5]}; session names must be unique"
        )
    kw = {"fps": fps} if fps is not None else {}
    data = []
    for p in tqdm(paths, desc="reading", unit="file", disable=len(paths) < 20):
        data.append(check_feature_input(io.read_tracks(p, format=fmt, **kw), str(p)))
    return data, stems


#: Files written into ``--out`` (``model`` is a folder).
OUTPUT_NAMES = ("labels.csv", "cluster_stats.csv", "transitions.csv", "transition_graph.json",
                "typical_bouts.csv", "typical_bouts.json", "ethogram.png", "transitions.png",
                "cluster_stats.png", "embedding.png", "model", "config.yaml", "summary.json",
                "cluster_regions.csv", "cluster_regions.png", "cluster_profiles.csv", "cluster_profiles.png",
                "cluster_mirrors.csv", "dyad_events.csv", "dyad_stats.csv", "dyad_ethogram.png")


def _check_options(args) -> None:
    """Numeric options and output paths, checked before any file is read or written."""
    from pathlib import Path

    from mapose.cli._common import check_regions_option, refuse_overwriting_inputs
    from mapose.errors import ConfigError
    from mapose.io._files import check_folder_path, check_fps

    check_fps(args.fps, "--fps")
    check_regions_option(args.regions, len(args.inputs))
    if args.keypoint is not None and not args.regions:
        raise ConfigError("--keypoint says which point places each cluster in a region; it needs --regions")
    args.keypoint = args.keypoint or "centroid"
    if args.typical < 1:
        raise ConfigError(f"--typical must be >= 1 (typical bouts listed per cluster); got {args.typical}")
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed must be >= 0; got {args.seed}")
    out = Path(args.out)
    check_folder_path(out, "--out")
    for name in OUTPUT_NAMES:
        # --config is read whole before anything is written, and config.yaml is its resolved form:
        # re-fitting from a result folder's own config (--config out/config.yaml --out out) is fine
        inputs = list(args.inputs) if name == "config.yaml" else [*args.inputs, args.config, *(args.regions or ())]
        refuse_overwriting_inputs(out / name, inputs, "output")


def _check_pair_mode(data, paths, mode: str) -> None:
    """Pair mode needs two animals per file (frames and positions were checked on reading)."""
    from mapose.kinematics import check_feature_input

    if mode != "pair":
        return
    for ds, p in zip(data, paths):
        check_feature_input(ds, str(p), mode=mode)


def run(args) -> int:
    import dataclasses
    import time
    from pathlib import Path

    import networkx as nx
    import numpy as np

    from mapose.behaviour.clustering import (
        BehaviourClusterer,
        ClusterConfig,
        cluster_profiles,
        cluster_statistics,
        dyad_events,
        load_model,
        mirror_clusters,
        save_model,
        transition_graph,
        transition_matrix,
        typical_bouts,
    )
    from mapose.behaviour.regions import behaviour_by_region
    from mapose.cli._common import check_keypoint_option, regions_per_file
    from mapose.config import load_yaml, save_yaml
    from mapose.errors import ConfigError, ValidationError
    from mapose.io._files import atomic_path, atomic_write_text, write_json
    from mapose.viz.behaviour import (
        plot_behaviour_by_region,
        plot_cluster_profiles,
        plot_cluster_statistics,
        plot_embedding,
        plot_ethogram,
        plot_transition_graph,
    )

    t0 = time.perf_counter()
    _check_options(args)
    out = Path(args.out)
    data, sessions = _read_inputs(args.inputs, args.format, args.fps)
    regions = regions_per_file(args.regions, data)  # read (and arenas found) before the long fit
    if args.regions:
        check_keypoint_option(args.keypoint, data, args.inputs)
    fps_values = {ds.attrs.get("fps") for ds in data}
    fps = fps_values.pop() if len(fps_values) == 1 else None

    if args.model:
        if args.config or args.mode or args.seed is not None:
            raise ConfigError("--model labels with a saved model; --config, --mode and --seed "
                              "only apply when fitting a new one")
        model = load_model(args.model)
        _check_pair_mode(data, args.inputs, model.mode)
        print(f"loaded model {args.model}: {model.n_clusters_} clusters, mode {model.mode}")
        labels, reduced, features = model.predict(data, sessions=sessions, return_reduced=True,
                                                  return_features=True)
        fitted = False
    else:
        cfg = load_yaml(args.config, ClusterConfig) if args.config else ClusterConfig()
        over = {}
        if args.mode:
            over["mode"] = args.mode
        if args.seed is not None:
            over["seed"] = args.seed
        cfg = dataclasses.replace(cfg, **over)
        _check_pair_mode(data, args.inputs, cfg.mode)
        model = BehaviourClusterer.from_config(cfg)
        print(f"fitting on {len(data)} session(s), mode {cfg.mode}, seed {cfg.seed} ...")
        model.fit(data, sessions=sessions, progress=True)
        labels, reduced = model.labels_, model.reduced_
        features = model.features_
        fitted = True
    out.mkdir(parents=True, exist_ok=True)

    with atomic_path(out / "labels.csv") as tmp:
        labels[["session", "frame", "subject", "cluster"]].to_csv(tmp, index=False)
    stats = cluster_statistics(labels, fps=fps)
    with atomic_path(out / "cluster_stats.csv") as tmp:
        stats.to_csv(tmp, index=False)
    tm = transition_matrix(labels)
    with atomic_path(out / "transitions.csv") as tmp:
        tm.to_csv(tmp)
    graph = transition_graph(tm, stats=stats)
    write_json(out / "transition_graph.json", nx.node_link_data(graph, edges="edges"))
    typ = typical_bouts(labels, reduced, model.centers_, model.clusters_, n=args.typical,
                        min_frames=model.min_bout_frames, fps=fps)
    with atomic_path(out / "typical_bouts.csv") as tmp:
        typ.to_csv(tmp, index=False)
    atomic_write_text(out / "typical_bouts.json", typ.to_json(orient="records", indent=1))
    profiles = cluster_profiles(labels, features)
    with atomic_path(out / "cluster_profiles.csv") as tmp:
        profiles.to_csv(tmp, index=False)
    mirrors = None
    if model.mode == "pair":
        try:
            mirrors = mirror_clusters(labels)
        except ValidationError as exc:  # not worth losing the fitted model over
            print(f"note: no cluster_mirrors.csv: {exc}")
        else:
            with atomic_path(out / "cluster_mirrors.csv") as tmp:
                mirrors.to_csv(tmp, index=False)
    dyads = None
    if mirrors is not None:
        dyads = dyad_events(labels, mirrors, min_share=model.event_min_share)
        with atomic_path(out / "dyad_events.csv") as tmp:
            dyads.to_csv(tmp, index=False)
        dyad_stats = cluster_statistics(dyads.rename(columns={"event": "cluster"}), fps=fps).rename(
            columns={"cluster": "event"})
        with atomic_path(out / "dyad_stats.csv") as tmp:
            dyad_stats.to_csv(tmp, index=False)

    # plots
    rows = {}
    for (session, subject), grp in labels.groupby(["session", "subject"], sort=False):
        if len(rows) >= MAX_ETHOGRAM_ROWS:
            break
        rows[f"{session} {subject}"] = grp.sort_values("frame")["cluster"].to_numpy()
    plot_ethogram(rows, fps=fps, path=out / "ethogram.png",
                  title=f"clusters ({len(rows)} of {labels.groupby(['session', 'subject']).ngroups} "
                        f"sequences)")
    if dyads is not None:
        events = dyads.attrs["events"]
        rows = {}
        for (session, subject), grp in dyads.groupby(["session", "subject"], sort=False):
            if len(rows) >= MAX_ETHOGRAM_ROWS:
                break
            rows[f"{session} {subject}"] = grp["event"].to_numpy()
        plot_ethogram(rows, names={**{int(e): f"event {n}" for e, n in zip(events["event"], events["name"])},
                                   -1: "no single event"},
                      fps=fps, path=out / "dyad_ethogram.png",
                      title="pairs of animals: events (a cluster and its mirror)")
    plot_transition_graph(graph, out / "transitions.png")
    plot_cluster_statistics(stats, out / "cluster_stats.png", fps=fps)
    if len(profiles):
        plot_cluster_profiles(profiles, out / "cluster_profiles.png",
                              mirrors=None if mirrors is None else dict(zip(mirrors["cluster"], mirrors["mirror"])))
    by_region = None
    if args.regions:
        by_region = behaviour_by_region(labels, dict(zip(sessions, data)), dict(zip(sessions, regions)),
                                        column="cluster", keypoint=args.keypoint)
        with atomic_path(out / "cluster_regions.csv") as tmp:
            by_region.to_csv(tmp, index=False)
        plot_behaviour_by_region(by_region, out / "cluster_regions.png", column="cluster")
    if fitted:
        plot_embedding(model.embedding_, model.embedding_labels_, out / "embedding.png",
                       seed=model.seed)
        save_model(model, out / "model")
        save_yaml(model.config, out / "config.yaml")

    assigned = float(np.mean(labels["cluster"].to_numpy() >= 0)) if len(labels) else float("nan")
    summary = {
        "sessions": len(sessions),
        "rows": int(len(labels)),
        "subjects": sorted(labels["subject"].unique().tolist()),
        "mode": model.mode,
        "seed": model.seed,
        "n_clusters": model.n_clusters_,
        "fraction_assigned": assigned,
        "noise_fraction_in_embedding": model.noise_fraction_,
        "agreement_classifier_vs_transform": model.agreement_,
        "fitted": fitted,
        "model": str(out / "model") if fitted else str(args.model),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if mirrors is not None:
        summary["mirrors"] = {str(r.cluster): {"mirror": int(r.mirror), "share": round(float(r.share), 3)}
                              for r in mirrors.itertuples()}
    if dyads is not None:
        share = dyads["event"].value_counts(normalize=True)
        summary["dyad_events"] = {
            str(e): {"clusters": [int(c) for c in cl], "fraction": round(float(share.get(e, 0.0)), 4)}
            for e, cl in zip(dyads.attrs["events"]["event"], dyads.attrs["events"]["clusters"])}
        summary["dyad_fraction_in_one_event"] = round(float(np.mean(dyads["event"] >= 0)), 4) if len(dyads) else None
    if by_region is not None:
        summary["regions"] = sorted(by_region["region"].unique().tolist())
        summary["keypoint"] = args.keypoint
    write_json(out / "summary.json", summary, indent=2)
    if model.n_clusters_ == 0:
        print("no cluster found (every frame is noise): lower min_cluster_fraction in --config, "
              "or use clusterer: gmm")
    agreement = f"{model.agreement_:.3f}" if np.isfinite(model.agreement_) else \
        "not measured (every frame was in the UMAP fit)"
    print(f"{summary['n_clusters']} clusters; {100 * assigned:.1f} % of {len(labels)} rows assigned; "
          f"classifier vs transform agreement {agreement}; wrote {out}")
    if dyads is not None:
        names = dyads.attrs["events"]["name"].tolist()
        print(f"pairs of animals: {len(names)} event(s) ({', '.join(names)}); both animals' rows in one event "
              f"on {100 * summary['dyad_fraction_in_one_event']:.1f} % of pair-frames (dyad_events.csv)")
    return 0
