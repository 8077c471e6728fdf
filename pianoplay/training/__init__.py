"""What every trainer shares: distributed data parallelism, resumable state."""
