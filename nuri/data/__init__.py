"""Data stages: ingest raw sources, prepare versioned training sets."""
