"""Serving: an OpenAI-compatible chat API over a released model."""
