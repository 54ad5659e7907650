"""The stream layer: topics, the records that travel on them, the broker and the Faust app."""
