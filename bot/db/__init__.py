"""The project's own database (not Rasa's trackers): base, engine, schema."""
