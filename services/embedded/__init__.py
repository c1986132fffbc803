"""The embedded default: every greentune service on one machine, around a local nats-server."""
