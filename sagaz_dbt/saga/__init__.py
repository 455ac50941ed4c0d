"""The saga of one run: plan, arm/release/compensate, the journal, ownership, isolation."""
