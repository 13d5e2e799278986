"""Nuri's Pulumi program. `__main__.py` composes the modules here; each module builds
one part of the platform and creates resources only when its functions are called."""
