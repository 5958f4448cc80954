"""``mapose dashboard [PATH]``: start the Streamlit dashboard on 127.0.0.1."""

from __future__ import annotations

HELP = "start the dashboard (video, pose, identities, kinematics, clusters, classifiers, labelling) in the browser"


def add_arguments(parser) -> None:
    parser.add_argument("path", nargs="?", default=None,
                        help="pose file (or folder of results) to open first")
    parser.add_argument("--video", default=None, help="video of the pose file (default: found beside it)")
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: only this computer can connect)")


def app_path():
    from pathlib import Path

    from mapose.errors import MaposeError

    here = Path(__file__).resolve().parents[2] / "apps" / "Home.py"
    if not here.exists():
        raise MaposeError(
            f"dashboard app not found at {here}; install mapose from its source folder (pip install -e .)"
        )
    return here


def run(args) -> int:
    import os
    import sys
    from pathlib import Path

    from mapose.io import require_file

    env = dict(os.environ)
    if args.path:
        p = Path(args.path)
        if not p.is_dir():
            require_file(p, "pose file")
        env["MAPOSE_DASHBOARD_PATH"] = str(p.resolve())
    if args.video:
        from mapose.cli._common import require_video

        env["MAPOSE_DASHBOARD_VIDEO"] = str(require_video(args.video))
    url = f"http://{args.host}:{args.port}"
    print(f"mapose dashboard: {url}", flush=True)
    if args.path and Path(args.path).suffix.lower() == ".slp":
        print(f"label its frames on {url}/Labelling", flush=True)
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path()),
           "--server.headless", "true", "--server.address", args.host,
           "--server.port", str(args.port), "--browser.gatherUsageStats", "false"]
    # Become the Streamlit server (no child left behind when this process is stopped).
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover  (execve does not return)
