"""Music representation: MIDI in and out, piano rolls, keys, bar windows."""
