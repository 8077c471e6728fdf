"""Latency of the app as an API user sees it: ``app.py`` in a subprocess, via ``gradio_client``.

    python bench/app_latency.py [--runs 10] [--startup-runs 3] [--out FILE.json]

Measures, after a warm-up, the median wall time of each call:

- ``sample``: one 16-bar piece from the VAE, with audio and piano-roll picture
- ``decode_latent``: one slider release (a different slider value each call)
- ``interpolate``: 8 steps between two Nottingham test tunes (uploading both)
- ``generate``: chord-LSTM beam search, width 8, 16 bars

three ways: with ``download_files=False`` (the call returns once the server
has written every file and answers with their URLs), with the client's default
of downloading every returned file, and downloading with one shared
``ssl.SSLContext`` passed as ``ssl_verify`` (gradio_client otherwise builds a
new certificate store, ~36 ms here, for each of its HTTP requests: two per call
plus one per downloaded file, even for a plain ``http://`` URL). Also the time
from the start command to the first served page. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_S = {
    "startup": 10.0,
    "sample": 0.30,
    "decode_latent": 0.25,
    "interpolate": 1.5,
    "generate": 1.5,
}


def calls(vae: str, lm: str, midi_a: Path, midi_b: Path, temperature: float | None = None,
          sample_vae: str | None = None) -> dict:
    """api name -> function(client, i) making the i-th call."""
    from gradio_client import handle_file

    vae_args = {} if temperature is None else {"temperature": temperature}
    return {
        "sample": lambda c, i: c.predict(
            sample_vae or vae, 1, 16, 1.0, i, 120, 0, api_name="/sample"
        ),
        "decode_latent": lambda c, i: c.predict(
            checkpoint=vae, seed=1, axis_1=round(-2 + 0.4 * (i % 10), 1), **vae_args,
            api_name="/decode_latent",
        ),
        "interpolate": lambda c, i: c.predict(
            vae, handle_file(midi_a), handle_file(midi_b), steps=8, **vae_args,
            api_name="/interpolate",
        ),
        "generate": lambda c, i: c.predict(
            lm, "beam", 1.0, 8, 20, 0.9, 16, i, None, 120, 0, api_name="/generate"
        ),
    }


def shared_ssl_context():
    """The certificate store gradio_client builds per request, built once."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def median_time(fn, client, runs: int, warm: int = 2) -> tuple[float, list[float]]:
    for i in range(warm):
        fn(client, 1000 + i)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        fn(client, i)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed calls per action (default 10)")
    parser.add_argument("--startup-runs", type=int, default=3, help="app starts timed (default 3)")
    parser.add_argument("--vae", default="vae-faithful",
                        help="VAE of the Latent and Interpolate tabs (the app's default)")
    parser.add_argument("--sample-vae", default=None, help="VAE for /sample (default: --vae)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="VAE decoding temperature (default: the checkpoint's own)")
    parser.add_argument("--lm", default="chord-lstm-nottingham")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "app_latency.json")
    args = parser.parse_args(argv)

    from gradio_client import Client

    from pianoplay.paths import data_dir
    from pianoplay.ui.server import start_app

    midi_a, midi_b = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[:2]
    startups = []
    for _ in range(max(0, args.startup_runs - 1)):
        server = start_app()
        startups.append(server.startup_seconds)
        server.stop()
    server = start_app()  # the last start also serves the timed calls
    startups.append(server.startup_seconds)
    results = {"startup": {"median_s": statistics.median(startups), "times_s": startups}}
    try:
        modes = (
            ("ready", {"download_files": False}),
            ("downloaded", {}),
            ("downloaded_shared_ssl", {"ssl_verify": shared_ssl_context()}),
        )
        for mode, kwargs in modes:
            # each mode: a fresh client (its heartbeat stopped after) and a fresh download folder
            with tempfile.TemporaryDirectory() as downloads:
                options = {"download_files": downloads, **kwargs}
                client = Client(server.url, verbose=False, **options)
                for name, fn in calls(
                    args.vae, args.lm, midi_a, midi_b, args.temperature, args.sample_vae
                ).items():
                    median, times = median_time(fn, client, args.runs)
                    results.setdefault(name, {})[f"{mode}_median_s"] = median
                    results[name][f"{mode}_times_s"] = times
                    print(
                        f"  {name:14s} {mode:22s} median {median * 1000:7.0f} ms", file=sys.stderr
                    )
                client.close()
    finally:
        server.stop()

    print(
        "\n| action | target | server done (ms) | files downloaded (ms) "
        "| downloaded, shared SSL context (ms) |"
    )
    print("|---|---|---|---|---|")
    for name, target in TARGETS_S.items():
        r = results[name]
        cells = [
            r.get(f"{mode}_median_s", r.get("median_s") if mode == "ready" else None)
            for mode in ("ready", "downloaded", "downloaded_shared_ssl")
        ]
        print(
            f"| {name} | {target * 1000:.0f} | "
            + " | ".join(
                "-" if v is None else f"{v * 1000:.0f}" + ("" if v <= target else " (over)")
                for v in cells
            )
            + " |"
        )
    record = {
        "command": "python bench/app_latency.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "checkpoints": {
            "vae": args.vae,
            "sample_vae": args.sample_vae or args.vae,
            "lm": args.lm,
            "temperature": args.temperature,
        },
        "midi": [midi_a.name, midi_b.name],
        "runs": args.runs,
        "targets_s": TARGETS_S,
        "results": results,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_at_end": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
