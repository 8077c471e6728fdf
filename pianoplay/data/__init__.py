"""Data sets: benchmark piano rolls, MIDI folders, caching and augmentation."""

from pianoplay.data.benchmark import SPLITS, load_benchmark

__all__ = ["SPLITS", "load_benchmark"]
