"""`accredit serve --cert --key` serves https."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

import requests
from conftest import ServeProcess
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_serve_https_with_a_certificate(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    server = ServeProcess("--cert", str(cert_file), "--key", str(key_file), cwd=tmp_path, env=env)
    try:
        assert server.url.startswith("https://127.0.0.1:")
        response = requests.get(f"{server.url}/.well-known/did.json", verify=str(cert_file), timeout=10)
        assert response.status_code == 200 and response.json()["id"].startswith("did:key:")
        assert response.url.startswith("https://")
    finally:
        server.stop()
