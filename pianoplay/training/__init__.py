"""What every trainer shares: the loop (``loop.py``), run setup (``runtime.py``), typed
configs from flags and JSON (``options.py``), curves (``history.py``), resumable state
(``state.py``) and distributed data parallelism (``distributed.py``)."""
