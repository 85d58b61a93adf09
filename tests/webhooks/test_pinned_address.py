"""Deliveries connect to the address that was checked, not to a second answer of the resolver
(DNS rebinding): the host is resolved once a round, every answer checked, and the request goes
to that address with the hostname kept in the Host header, the TLS server name and the
certificate check."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhooks import addresses, delivery, outbox, subscriptions
from webhooks.models import Delivery

from .conftest import Receiver

pytestmark = pytest.mark.django_db

# .test never resolves in the real DNS: only the stand-in resolver knows these names.
HOST = "hooks.test"
PUBLIC = "93.184.216.34"


class Resolver:
    """A resolver whose answers change between calls: the n-th lookup of a name gets the n-th
    answer (the last one from then on), as a rebinding attacker's DNS server would give."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            # Addresses as themselves, as the system resolver does; names are unknown here.
            ipaddress.ip_address(host.strip("[]"))
            return [host.strip("[]")]
        answers = self.answers[host]
        return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    found = Resolver()
    monkeypatch.setattr(addresses, "resolve", found)
    return found


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def deliver_all() -> list[dict[str, int]]:
    delivery.fan_out()
    return [delivery.deliver(delivery_ids=ids) for ids in delivery.dispatch_due()]


def test_a_host_answering_public_then_loopback_never_reaches_loopback(
    receiver, marketer, resolver, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    # The checks (subscribing, then the delivery round) are told "localhost" is public; the
    # machine's own resolver says loopback, where the receiver listens: a request that looked
    # the name up again when connecting would have arrived there.
    url = f"http://localhost:{port_of(receiver.url)}/hooks"
    resolver.answers["localhost"] = [[PUBLIC]]
    subscriptions.subscribe(owner=marketer, url=url, events=["customer.updated"])
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)

    assert deliver_all() == [{"delivered": 0, "failed": 1}]

    assert receiver.arrivals == []
    assert resolver.asked == ["localhost", "localhost"]  # subscribing, the delivery round
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.PENDING
    # It went to the public address that was checked (not reachable from the test machine).
    assert "did not answer" in row.last_error


def test_the_request_goes_to_the_address_checked_with_the_hostname_kept(
    receiver, marketer, resolver
):
    url = f"http://{HOST}:{port_of(receiver.url)}/hooks"
    # The check gets loopback (private addresses allowed in tests); a second lookup would get
    # an address nothing listens on, and the system resolver does not know the name at all.
    resolver.answers[HOST] = [["127.0.0.1"], ["192.0.2.1"]]
    subscriptions.subscribe(owner=marketer, url=url, events=["customer.updated"])
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)

    assert deliver_all() == [{"delivered": 1, "failed": 0}]

    assert resolver.asked == [HOST]
    [arrival] = receiver.arrivals
    assert arrival.headers["host"] == f"{HOST}:{port_of(receiver.url)}"


def test_endpoints_on_one_host_are_sent_to_one_checked_address(receiver, marketer, resolver):
    base = f"http://{HOST}:{port_of(receiver.url)}"
    resolver.answers[HOST] = [["127.0.0.1"], ["192.0.2.1"]]
    for path in ("/a", "/b"):
        subscriptions.subscribe(owner=marketer, url=base + path, events=["customer.updated"])
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)
    delivery.fan_out()
    ids = [pk for batch in delivery.dispatch_due() for pk in batch]

    assert delivery.deliver(delivery_ids=ids) == {"delivered": 2, "failed": 0}

    assert resolver.asked == [HOST]
    assert len(receiver.arrivals) == 2


def test_a_host_with_one_address_inside_among_public_ones_is_refused(resolver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    resolver.answers[HOST] = [[PUBLIC, "10.0.0.7"]]

    refused = addresses.destination(f"https://{HOST}/hooks")

    assert refused.address is None
    assert refused.refusal is not None and "(10.0.0.7)" in refused.refusal


# --- https: the server name and the certificate check use the hostname ------------------------


def _certificate(name: str, key, issuer_name, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        built = built.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        built = built.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return built.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    """A test certificate authority and a way to issue it a server certificate for a name."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Bonding test CA", ca_key, None, ca_key, ca=True)
    bundle = folder / "ca.pem"
    bundle.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def server_context(name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(name, key, ca.subject, ca_key, ca=False)
        chain = folder / f"{name}.pem"
        chain.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context

    return bundle, server_context


@pytest.fixture
def tls_receiver(authority, monkeypatch) -> Iterator[tuple[Receiver, object]]:
    bundle, server_context = authority
    # requests reads the trusted authorities from here, as a deployment's own bundle would be.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    found = Receiver()
    yield found, server_context
    if found.server is not None:
        found.stop()


def test_https_to_the_pinned_address_sends_the_name_and_verifies_the_certificate_for_it(
    tls_receiver, marketer, resolver
):
    receiver, server_context = tls_receiver
    # The certificate names HOST only, not 127.0.0.1: it verifies only against the name.
    receiver.start(tls=server_context(HOST))
    url = f"https://{HOST}:{port_of(receiver.url)}/hooks"
    resolver.answers[HOST] = [["127.0.0.1"], ["192.0.2.1"]]
    endpoint = subscriptions.subscribe(owner=marketer, url=url, events=["customer.updated"])
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)

    assert deliver_all() == [{"delivered": 1, "failed": 0}]

    assert receiver.server_names == [HOST]
    [arrival] = receiver.arrivals
    assert arrival.headers["host"] == f"{HOST}:{port_of(receiver.url)}"
    assert receiver.verified(endpoint.secret)


def test_https_with_a_certificate_for_another_name_is_not_delivered(
    tls_receiver, marketer, resolver
):
    receiver, server_context = tls_receiver
    receiver.start(tls=server_context("other.test"))
    url = f"https://{HOST}:{port_of(receiver.url)}/hooks"
    resolver.answers[HOST] = [["127.0.0.1"]]
    subscriptions.subscribe(owner=marketer, url=url, events=["customer.updated"])
    outbox.publish("customer.updated", {"id": 1}, customer_id=1)

    assert deliver_all() == [{"delivered": 0, "failed": 1}]

    assert receiver.arrivals == []
    assert receiver.server_names == [HOST]
    assert Delivery.objects.get().last_error.startswith("SSLError")
