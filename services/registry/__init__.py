"""The model registry: versions with lineage, aliases with history, verified artifacts, a base-model catalogue.

It reacts to the trainer's ModelExported, verifies every export in its serving runtime, and answers
queries from a read model rebuilt from the event log (NATS request/reply on `rpc.registry.*`, and
the `greentune registry` CLI). Importing it is light: ML libraries load only in the verifier's subprocess.
"""
