"""Process concerns of a run: signals, crash points, the target lock, bounded waits."""
