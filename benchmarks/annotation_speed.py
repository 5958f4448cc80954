"""How fast behaviour annotation responds on a long video: the AnnotationEditor and the ethogram
strip the Behaviour annotation page redraws on every rerun.

Usage::

    python benchmarks/annotation_speed.py [--frames 108000] [--bouts 2000]

A 1-hour video at 30 fps (108,000 frames), 3 animals (3 animals + 6 ordered pairs = 9 subjects),
5 behaviours, ``--bouts`` random bouts: prints the time per edit (mark), to list the bouts, to
draw the strip of every annotated (behaviour, subject) row, to save (atomically) and to reopen
the file, and the memory the editor and 200 undo steps hold.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=108_000)
    ap.add_argument("--bouts", type=int, default=2000)
    args = ap.parse_args()

    from mapose.behaviour.annotation_editor import AnnotationEditor, pair_subjects
    from mapose.viz.annotation_view import ethogram_strip

    rng = np.random.default_rng(0)
    subjects = pair_subjects(["A", "B", "C"])
    behaviours = ["chase", "groom", "rear", "attack", "sniff"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.bouts.csv"
        tracemalloc.start()
        ed = AnnotationEditor(path, args.frames, subjects)
        for b in behaviours:
            ed.add_behaviour(b)
        t0 = time.perf_counter()
        for _ in range(args.bouts):
            start = int(rng.integers(0, args.frames - 300))
            ed.mark(str(rng.choice(behaviours)), str(rng.choice(subjects)), start, start + int(rng.integers(5, 300)))
        per_edit = (time.perf_counter() - t0) / args.bouts
        mem = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        t0 = time.perf_counter()
        bouts = ed.bouts()
        t_bouts = time.perf_counter() - t0
        rows = [(b, s) for b in behaviours for s in subjects if ed.frames_of(b, s).any()]
        t0 = time.perf_counter()
        strip = ethogram_strip([ed.frames_of(b, s) for b, s in rows], width=1000, cursor=args.frames // 2)
        t_strip = time.perf_counter() - t0
        t0 = time.perf_counter()
        ed.save()
        t_save = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = AnnotationEditor(path, args.frames, subjects)
        t_open = time.perf_counter() - t0
        assert len(again.bouts()) == len(bouts)
        print(f"{args.frames} frames, {len(subjects)} subjects, {len(behaviours)} behaviours, "
              f"{args.bouts} bouts marked -> {len(bouts)} bouts (overlaps merge)")
        print(f"edit (mark):   {per_edit * 1e3:.2f} ms")
        print(f"list bouts:    {t_bouts * 1e3:.1f} ms")
        print(f"ethogram strip ({len(rows)} rows, {strip.shape[1]}x{strip.shape[0]} px): {t_strip * 1e3:.1f} ms")
        print(f"save:          {t_save * 1e3:.1f} ms ({path.stat().st_size / 1e3:.0f} kB)")
        print(f"reopen:        {t_open * 1e3:.0f} ms")
        print(f"memory (editor + {min(args.bouts, 200)} undo steps): {mem / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
