"""The harness's next hop and bounce sink: scripting by address, byte-exact capture, limits."""

from __future__ import annotations

import smtplib
import socket
import threading

import pytest

from conformance.harness.mailbox import Mailbox, SpoolMailbox, Transaction
from conformance.harness.servers import Harness, HarnessConfig


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with Harness(HarnessConfig(spool=tmp_path_factory.mktemp("spool"))) as h:
        yield h


def send(port: int, mail_from: str, rcpts: list[tuple[str, list[str]]], mail_options: list[str] = (),  # type: ignore[assignment]
         body: bytes = b"Subject: t\r\n\r\nhello\r\n") -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("target.test")
        code, _ = client.mail(mail_from, list(mail_options))
        replies = {}
        for address, options in rcpts:
            replies[address] = client.rcpt(address, options)
        if any(code // 100 == 2 for code, _ in replies.values()):
            try:
                replies["DATA"] = client.data(body)
            except smtplib.SMTPDataError as exc:
                replies["DATA"] = (exc.smtp_code, exc.smtp_error)
    return replies


def test_scripted_next_hop_and_exact_parameters(harness: Harness) -> None:
    replies = send(harness.dsn_port, "s@sender.test", [
        ("ok.t1@relay.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Mixed.Case@Example.COM"]),
        ("rej-rcpt.t1@relay.test", []),
        ("tmp.t1@relay.test", []),
        ("x@elsewhere.example", []),
    ], mail_options=["RET=HDRS", "ENVID=Env+2BId"])
    assert replies["ok.t1@relay.test"][0] == 250
    assert replies["rej-rcpt.t1@relay.test"][0] == 550
    assert replies["tmp.t1@relay.test"][0] == 451
    assert replies["x@elsewhere.example"][0] == 550  # never relays
    [tx] = harness.mailbox.wait_for(lambda t: any("t1@" in r.address for r in t.recipients), timeout=5)
    assert tx.role == "next-hop" and tx.dsn_advertised
    assert tx.mail_params == ["RET=HDRS", "ENVID=Env+2BId"]
    assert tx.recipients[0].params == ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Mixed.Case@Example.COM"]
    assert tx.data is not None and tx.data.endswith(b"hello\r\n")
    assert any(line.startswith("C: RCPT TO:<ok.t1@relay.test>") for line in tx.transcript)


def test_refusal_after_data_answers_the_whole_transaction(harness: Harness) -> None:
    replies = send(harness.dsn_port, "s@sender.test", [("ok.t2@relay.test", []), ("rej-data.t2@relay.test", [])])
    assert replies["DATA"][0] == 550
    [tx] = harness.mailbox.wait_for(lambda t: any("t2@" in r.address for r in t.recipients), timeout=5)
    assert tx.data_reply.startswith("550")


def test_sink_takes_null_sender_ndrs(harness: Harness) -> None:
    send(harness.dsn_port, "", [("t3@sender.test", ["NOTIFY=NEVER"])])
    [tx] = harness.mailbox.wait_for(lambda t: t.role == "sink" and t.recipients[0].address == "t3@sender.test", 5)
    assert tx.mail_from == "" and tx.recipients[0].params == ["NOTIFY=NEVER"]


def test_plain_port_has_no_dsn_and_records_what_it_refuses(harness: Harness) -> None:
    with smtplib.SMTP("127.0.0.1", harness.plain_port, timeout=10) as client:
        client.ehlo("target.test")
        assert not client.has_extn("dsn")
        code, _ = client.mail("s@sender.test", ["RET=FULL"])
        assert code == 555
    [tx] = harness.mailbox.wait_for(lambda t: t.mail_params == ["RET=FULL"], timeout=5)
    assert not tx.dsn_advertised
    replies = send(harness.plain_port, "s@sender.test", [("ok.t4@plain-relay.test", []), ("ok.t4@relay.test", [])])
    assert replies["ok.t4@plain-relay.test"][0] == 250
    assert replies["ok.t4@relay.test"][0] == 550  # each port serves its own relay domain only


def test_spool_keeps_every_transaction(harness: Harness) -> None:
    spool = harness.config.spool
    assert spool is not None
    send(harness.dsn_port, "s@sender.test", [("ok.t5@relay.test", [])])
    [tx] = harness.mailbox.wait_for(lambda t: any("t5@" in r.address for r in t.recipients), timeout=5)
    assert (spool / f"{tx.id}.json").exists() and (spool / f"{tx.id}.eml").read_bytes() == tx.data


@pytest.mark.parametrize(("size", "code"), [("10485761", 552), ("10485760", 250), ("12x", 501), ("9" * 40, 501)])
def test_a_declared_size_above_the_limit_is_refused_at_mail(harness: Harness, size: str, code: int) -> None:
    """RFC 1870 §6.1: a SIZE= above the advertised maximum gets 552 at MAIL, before any octet is sent."""
    with smtplib.SMTP("127.0.0.1", harness.dsn_port, timeout=10) as client:
        client.ehlo("target.test")
        assert client.has_extn("size") and int(client.esmtp_features["size"]) == 10 * 1024 * 1024
        reply_code, text = client.mail("s@sender.test", [f"SIZE={size}"])
        assert reply_code == code, text
        if code != 250:
            assert text.split()[0].startswith((b"5.3.4", b"5.5.4"))  # with its enhanced code


def test_message_size_is_capped() -> None:
    with Harness(HarnessConfig(max_message_size=1000)) as h:
        replies = send(h.dsn_port, "s@sender.test", [("ok.t6@relay.test", [])], body=b"x" * 5000)
        assert replies["DATA"][0] == 552


def test_wait_for_returns_at_the_deadline_and_wakes_on_arrival() -> None:
    box = Mailbox()
    assert box.wait_for(lambda t: True, timeout=0.2) == []
    arrived = threading.Timer(0.1, lambda: box.add(Transaction("x", "sink", 1, True)))
    arrived.start()
    assert [t.id for t in box.wait_for(lambda t: True, timeout=10)] == ["x"]


@pytest.mark.parametrize(("path", "token"), [("<#@[]>", "t5a"), ("<@>", "t5b")])
def test_sink_records_an_odd_reverse_path_as_sent(harness: Harness, path: str, token: str) -> None:
    """Some MTAs bounce with MAIL FROM:<#@[]> or <@>: the sink takes the NDR, so the judge sees the path."""
    with smtplib.SMTP("127.0.0.1", harness.dsn_port, timeout=10) as client:
        client.ehlo("target.test")
        assert client.docmd(f"MAIL FROM:{path}")[0] == 250
        assert client.docmd(f"RCPT TO:<{token}@sender.test>")[0] == 250
        assert client.data(b"Subject: ndr\r\n\r\nbounced\r\n")[0] == 250
    [tx] = harness.mailbox.wait_for(lambda t: any(token in r.address for r in t.recipients), timeout=5)
    assert tx.role == "sink" and tx.mail_from == path[1:-1] and tx.mail_arg == f"FROM:{path}"
    assert harness.config.spool is not None
    [spooled] = [t for t in SpoolMailbox(harness.config.spool).all() if t.id == tx.id]
    assert spooled.mail_arg == f"FROM:{path}"  # xdist workers see it too


def test_the_plain_port_listens_on_its_own_host() -> None:
    with Harness(HarnessConfig(host="127.0.0.1", plain_host="127.0.0.2")) as h:
        assert h.plain_host == "127.0.0.2"
        with socket.create_connection(("127.0.0.2", h.plain_port), timeout=5) as conn:
            assert conn.recv(100).startswith(b"220 ")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", h.plain_port), timeout=5).close()
        with socket.create_connection(("127.0.0.1", h.dsn_port), timeout=5) as conn:
            assert conn.recv(100).startswith(b"220 ")
