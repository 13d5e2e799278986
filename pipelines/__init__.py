"""Pipeline definitions. The same definition runs on KFP's local runner (embedded
default) and compiles to KFP IR YAML for the cluster."""
