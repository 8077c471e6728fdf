"""Latent-space tools shared by the VAE families (not a family itself):

- :mod:`.axes`: attributes of a roll, :class:`~.axes.LatentAxes` (principal axes, attribute
  vectors, the 2-D map), fitting them, and their file ``latent.json``;
- :mod:`.paths`: :class:`~.paths.Encoded` (a window and its code), slerp, and the bar path
  (each segment's code switching from A's to B's at a step of its own);
- :mod:`.walk`: an attribute slider walking the decoder's steepest path.
"""
