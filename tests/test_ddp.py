"""Training scales out: `pianoplay train vae-segment` under torchrun with two CPU processes
(DistributedDataParallel, gloo) ends with identical weights on both ranks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

TINY = {"model": {"frame_dim": 16, "enc_hidden": 16, "latent_dim": 8, "dec_hidden": 32,
                  "prior_hidden": 8},
        "train": {"data": ["nottingham"], "mix": [1.0], "batch_windows": 2, "segments": 2,
                  "max_steps": 4, "eval_every": 2, "valid_windows": 2, "axes_segments": 40}}


def test_two_ranks_end_with_identical_weights(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "pianoplay", "train", "vae-segment", "--out", str(out), "--device", "cpu",
           "--quiet", "--config", json.dumps(TINY)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((out / f"ddp_rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert [r["step"] for r in ranks] == [4, 4]
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["kind"] == "segment" and "latent" in config["files"]
