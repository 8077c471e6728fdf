"""Load: many ``gradio_client`` users at once against one ``app.py`` server.

    python bench/load.py [--clients 16] [--actions 10] [--out FILE.json]

Each client (a thread with its own ``Client``) makes ``--actions`` calls in a mixed
order: slider decodes (``/decode_latent``, half of all calls: what a user does most),
``/sample``, ``/interpolate`` (uploading two Nottingham test tunes) and chord-LSTM
``/generate`` (top-p, beam). Reports errors, p50/p95 latency per action, the server's
resident memory (before, peak, after) and the size of its output folder before and after
(the app's files live in its own ``GRADIO_TEMP_DIR`` here). Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("decode_latent", "sample", "decode_latent", "interpolate", "decode_latent",
         "generate", "decode_latent", "sample", "decode_latent", "generate")


def calls(vae: str, old_vae: str, lm: str, midi_a: Path, midi_b: Path,
          temperature: float | None = None) -> dict:
    """action -> function(client, i) making the i-th call of that client."""
    from gradio_client import handle_file

    vae_args = {} if temperature is None else {"temperature": temperature}
    return {
        "decode_latent": lambda c, i: c.predict(
            checkpoint=vae, seed=i, axis_1=round(-2 + 0.4 * (i % 10), 1), **vae_args,
            api_name="/decode_latent",
        ),
        "sample": lambda c, i: c.predict(
            old_vae, 1, 16, 1.0, -1, 120, 0, api_name="/sample"
        ),
        "interpolate": lambda c, i: c.predict(
            vae, handle_file(midi_a), handle_file(midi_b), steps=8, **vae_args,
            api_name="/interpolate",
        ),
        "generate": lambda c, i: c.predict(
            lm, "beam" if i % 2 else "top-p", 1.0, 8, 20, 0.9, 16, -1, None, 120, 0,
            api_name="/generate",
        ),
    }


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the renderer has none; torch's
    threads are in the process), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--actions", type=int, default=10, help="calls per client")
    parser.add_argument("--vae", default="vae-faithful", help="Latent and Interpolate model")
    parser.add_argument("--old-vae", default="vae-nottingham", help="Sample model")
    parser.add_argument("--lm", default="chord-lstm-nottingham")
    parser.add_argument("--temperature", type=float, default=None,
                        help="VAE decoding temperature (default: the checkpoint's own)")
    parser.add_argument("--checkpoints", default=None, help="app.py --checkpoints")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.json")
    args = parser.parse_args(argv)

    from gradio_client import Client

    from pianoplay.paths import data_dir
    from pianoplay.ui.server import start_app

    midi_a, midi_b = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[:2]
    actions = calls(args.vae, args.old_vae, args.lm, midi_a, midi_b, args.temperature)
    gradio_dir = Path(tempfile.mkdtemp(prefix="pianoplay-load-"))
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_dir)  # the server's files, and only its
    extra = ("--checkpoints", args.checkpoints) if args.checkpoints else ()
    server = start_app(*extra)
    pid = server.process.pid
    times: dict[str, list[float]] = {name: [] for name in actions}
    errors: list[str] = []
    lock = threading.Lock()
    peak = [0.0]
    done = threading.Event()

    def watch_memory() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.2)

    def user(k: int) -> None:
        with tempfile.TemporaryDirectory() as downloads:
            client = Client(server.url, verbose=False, download_files=downloads)
            try:
                for j in range(args.actions):
                    name = ORDER[(j + k) % len(ORDER)]
                    start = time.perf_counter()
                    try:
                        actions[name](client, 100 * k + j)
                    except Exception as err:  # noqa: BLE001 - every failure is counted
                        with lock:
                            errors.append(f"{name}: {type(err).__name__}: {err}")
                        continue
                    with lock:
                        times[name].append(time.perf_counter() - start)
            finally:
                client.close()

    try:
        # one warm call of each action first (loads every model), then the measurements
        warm = Client(server.url, verbose=False, download_files=False)
        for name, fn in actions.items():
            fn(warm, 0)
        warm.close()
        before = {"rss_mb": rss_mb(pid), "folder_mb": folder_mb(gradio_dir)}
        watcher = threading.Thread(target=watch_memory, daemon=True)
        watcher.start()
        start = time.perf_counter()
        users = [threading.Thread(target=user, args=(k,)) for k in range(args.clients)]
        for t in users:
            t.start()
        for t in users:
            t.join()
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
        after = {"rss_mb": rss_mb(pid), "folder_mb": folder_mb(gradio_dir)}
        alive = Client(server.url, verbose=False, download_files=False)
        still_serving = bool(actions["decode_latent"](alive, 1))
        alive.close()
    finally:
        done.set()
        server.stop()
        shutil.rmtree(gradio_dir, ignore_errors=True)

    total = sum(len(v) for v in times.values()) + len(errors)
    results = {
        name: {
            "calls": len(v),
            "p50_s": statistics.median(v) if v else None,
            "p95_s": percentile(v, 0.95) if v else None,
            "max_s": max(v) if v else None,
        }
        for name, v in times.items()
    }
    print(f"\n{args.clients} clients x {args.actions} actions = {total} calls in {wall:.1f} s, "
          f"{len(errors)} errors; server still serving: {still_serving}")
    print("\n| action | calls | p50 (s) | p95 (s) | max (s) |\n|---|---|---|---|---|")
    for name, r in results.items():
        if r["calls"]:
            print(f"| {name} | {r['calls']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} | "
                  f"{r['max_s']:.2f} |")
    print(f"\nserver RSS: {before['rss_mb']:.0f} MiB before, {peak[0]:.0f} peak, "
          f"{after['rss_mb']:.0f} after; output folder: {before['folder_mb']:.1f} MiB before, "
          f"{after['folder_mb']:.1f} MiB after")
    for line in errors[:10]:
        print("error:", line, file=sys.stderr)
    record = {
        "command": "python bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "clients": args.clients,
        "actions_per_client": args.actions,
        "checkpoints": {"vae": args.vae, "old_vae": args.old_vae, "lm": args.lm},
        "wall_s": wall,
        "calls": total,
        "errors": errors,
        "still_serving": still_serving,
        "results": results,
        "server_rss_mb": {**{"before": before["rss_mb"], "after": after["rss_mb"]},
                          "peak": peak[0]},
        "output_folder_mb": {"before": before["folder_mb"], "after": after["folder_mb"]},
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if not errors and still_serving else 1


if __name__ == "__main__":
    raise SystemExit(main())
