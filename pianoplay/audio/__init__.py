"""What the user hears and sees: FluidSynth rendering and WAV files (:mod:`.synth`),
piano-roll pictures (:mod:`.plot`)."""
