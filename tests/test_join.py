"""The interpolation path's audio: each step at its own length."""

from __future__ import annotations

import numpy as np

from pianoplay.music.join import join_steps, music_span, silent_share


def _step(n_steps: int, music: tuple[int, int], window: int = 64) -> np.ndarray:
    roll = np.zeros((window, 88), np.uint8)
    roll[music[0]:music[1], 40] = 1
    return roll


def test_music_span_cuts_whole_beats_of_silence():
    assert music_span(_step(64, (0, 20)), 2) == (0, 20)
    assert music_span(_step(64, (3, 21)), 2) == (2, 22)
    assert music_span(np.zeros((64, 88), np.uint8), 2) == (0, 0)


def test_padded_steps_join_with_at_most_a_beat_between_them():
    beat = 2
    rolls = [_step(64, (0, 21)), _step(64, (1, 30)), _step(64, (0, 40))]
    padded = np.concatenate(rolls)
    joined = join_steps(rolls, beat)
    assert silent_share(padded) > 0.4
    assert joined.starts == [0, 22, 52] and joined.ends == [22, 52, 92]
    on = joined.roll[:, 40] > 0
    assert on[0] and on[-1]
    edges = np.diff(on.astype(int))
    silences = np.flatnonzero(edges == 1) - np.flatnonzero(edges == -1)  # (gaps,) in steps
    assert list(silences) == [2], silences  # step 1 ends a step early, step 2 starts one late
    assert silent_share(joined.roll) <= 0.05


def test_a_silent_step_keeps_a_beat():
    rolls = [_step(64, (0, 8)), np.zeros((64, 88), np.uint8), _step(64, (0, 8))]
    joined = join_steps(rolls, 2)
    assert [e - s for s, e in zip(joined.starts, joined.ends)] == [8, 2, 8]
