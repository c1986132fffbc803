"""NATS with the stack's identities (what `greentune up` and `greentune nats serve` run): an
anonymous client cannot connect, the inference identity cannot publish the trainer's events, no
service identity can delete or purge EVENTS, and the same identities work over TLS with a CA made
here."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import nats
import nats.errors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contracts.stream import STREAM_NAME
from services.runtime.errors import BusUnavailableError
from services.runtime.jetstream import NatsAccess, connect, ensure_stream
from services.runtime.nats_identities import GRANTS, load_or_create, server_authorization
from services.runtime.nats_server import NatsServer

SERVICES = ("trainer", "inference", "registry", "carbon", "api", "cli")


def secured_server(tmp_path: Path, extra: str = "") -> tuple[NatsServer, NatsAccess]:
    identities = tmp_path / "identities.json"
    authorization = server_authorization(load_or_create(identities))
    server = NatsServer(store_dir=tmp_path / "nats", extra_config=authorization + extra)
    return server.start(), NatsAccess(credentials=identities)


async def test_identities_hold_only_their_own_subjects_and_anonymous_clients_are_refused(tmp_path):
    server, access = secured_server(tmp_path)
    try:
        admin = await connect(server.url, "bootstrap", identity="bootstrap", access=access)
        await ensure_stream(admin.jetstream())
        with pytest.raises(nats.errors.Error, match=r"[Aa]uthorization"):
            await nats.connect(server.url, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
        wrong = tmp_path / "stale-identities.json"
        wrong.write_text('{"cli": "an old password"}')
        with pytest.raises(BusUnavailableError, match=r"as 'cli'.*[Aa]uthorization"):  # said at once, not retried
            await asyncio.wait_for(connect(server.url, "stale", access=NatsAccess(credentials=wrong)), 10)

        inference = await connect(server.url, "inference", identity="inference", access=access)
        js = inference.jetstream(timeout=0.5)
        own = await js.publish("events.inference.engine.e1.ModelLoaded", b"{}")
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await js.publish("events.trainer.job.j1.JobCompleted", b"{}")  # refused: never stored, never acked

        refused = {}
        for name in SERVICES:
            service = await connect(server.url, name, identity=name, access=access)
            attempts = []
            for action in (service.jetstream(timeout=0.5).delete_stream, service.jetstream(timeout=0.5).purge_stream):
                try:
                    await action(STREAM_NAME)
                    attempts.append("allowed")
                except Exception:  # the server drops the request: nats-py times out
                    attempts.append("refused")
            refused[name] = attempts
            await service.close()
        info = await admin.jetstream().stream_info(STREAM_NAME)
        await inference.close()
        await admin.close()
    finally:
        server.stop()

    assert own.seq == 1
    assert refused == {name: ["refused", "refused"] for name in SERVICES}
    assert info.state.messages == 1, "EVENTS holds the inference event and nothing else"
    assert set(GRANTS) == {"bootstrap", *SERVICES}
    assert (tmp_path / "identities.json").stat().st_mode & 0o077 == 0, "the passwords are readable by their owner only"


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for 127.0.0.1: (ca.pem, server.pem, server-key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "greentune test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


async def test_identities_connect_over_tls_to_a_server_with_a_certificate_from_our_ca(tmp_path):
    ca, certificate, key = _certificates(tmp_path)
    tls = f'tls {{\n  cert_file: "{certificate}"\n  key_file: "{key}"\n}}\n'
    server, access = secured_server(tmp_path, tls)
    trusting = NatsAccess(credentials=access.credentials, tls_ca=ca)
    try:
        nc = await connect(server.url, "tls-client", identity="bootstrap", access=trusting)
        await ensure_stream(nc.jetstream())
        stored = await nc.jetstream().publish("events.trainer.job.j1.JobQueued", b"{}")
        await nc.close()
        with pytest.raises(ssl.SSLCertVerificationError):  # a client that does not trust our CA
            await nats.connect(server.url, **access.options("cli"), allow_reconnect=False, connect_timeout=2)
    finally:
        server.stop()

    assert stored.seq == 1
