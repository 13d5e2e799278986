"""The platform image every component runs in (built from the repo's Dockerfile).
`nuri compile` replaces it with the domain config's `cluster.image`."""

DEFAULT_IMAGE = "registry.nuri.local/nuri/platform:0.1.0"
