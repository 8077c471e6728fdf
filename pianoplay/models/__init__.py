"""Models and how they are found: checkpoint folders, the registry, the protocols every
loaded model offers, and the model families (:mod:`.vae`, :mod:`.lm`)."""
