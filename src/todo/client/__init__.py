"""The `todo` command for people: a client of a Todo server over its HTTP API."""
