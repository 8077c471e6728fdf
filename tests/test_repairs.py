"""What the reader repaired is handed to the interface (to show the user), per thread."""

from __future__ import annotations

import threading
import warnings

from pianoplay.music.midi import RepairWarning, collect_repairs, load_midi


def _cut(data_dir) -> bytes:
    data = (data_dir / "nottingham" / "test" / "ashover_simple_chords_11.mid").read_bytes()
    return data[: len(data) // 2]


def test_repairs_are_collected_while_the_block_is_open(data_dir):
    cut = _cut(data_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with collect_repairs() as notes:
            load_midi(cut)
        load_midi(cut)  # after the block: warned about, not collected
    assert len(notes) == 1 and notes[0].startswith("the uploaded file: track 2 is cut off")
    assert "events are kept" in notes[0]
    assert sum(issubclass(w.category, RepairWarning) for w in caught) == 2


def test_each_thread_collects_its_own(data_dir):
    cut, whole = _cut(data_dir), (data_dir / "nottingham" / "test" / "ashover_simple_chords_11.mid")
    seen = {}

    def read(name, source):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with collect_repairs() as notes:
                for _ in range(20):
                    load_midi(source)
        seen[name] = len(notes)

    threads = [threading.Thread(target=read, args=("cut", cut)),
               threading.Thread(target=read, args=("whole", whole))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"cut": 20, "whole": 0}
