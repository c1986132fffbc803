"""The runtime kernel shared by every service: NATS/JetStream connection and stream bootstrap, the
event-sourced write side with its outbox relay, the projection runner, settings and logging.

Heavy ML libraries never get imported from here.
"""
