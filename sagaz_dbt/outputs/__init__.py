"""What a run tells the world: console report, JSON events, JUnit, GitHub summary, OpenLineage."""
