"""The stream layer: the bus (topic names, the embedded broker, replay and backfill producers) and the topology (the Faust app)."""
