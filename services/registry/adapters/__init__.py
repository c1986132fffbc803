"""The registry's adapters: event-log history, verification runtimes, reactions tracking, RPC."""
