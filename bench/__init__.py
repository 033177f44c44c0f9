"""Load benchmark of the Todo service: `make bench` (see bench/README.md)."""
