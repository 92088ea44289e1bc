"""irctest controller for sockchat's IRC front end.

Opt-in conformance run, not part of CI: see scripts/irctest.ts. irctest starts one
server per test case; this controller runs `deno run -A main.ts serve` from the
repository this file lives in, with a fresh database in irctest's temporary
directory, an oper secret, and flood control off (irctest sends faster than any
person would).
"""

import atexit
import os
from pathlib import Path
import signal
import subprocess
import threading
from typing import IO, Optional, Set, Type

from irctest import cases, patma
from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

REPO = Path(__file__).resolve().parents[2]
"""The sockchat checkout: tests/irctest/ is two levels below it."""

SERVER_NAME = "My.Little.Server"
"""The name irctest's tests expect (they match it in some numerics)."""

OPER_SECRET = "operpassword"
"""irctest sends `OPER operuser operpassword`; sockchat checks only the secret."""

ACCOUNT_PASSWORD_LENGTHS = range(8, 128 + 1)
"""Passwords NickServ accepts (config/security_limits.ts's ACCOUNT_PASSWORD_MIN_LENGTH and
_MAX_LENGTH); irctest registers "sesame" and 300-character ones too."""


_servers: Set[subprocess.Popen] = set()
"""Servers started and not yet stopped: irctest skips a test from its setUp (bot_mode.py does,
without a BOT token) without the tearDown that stops the server, so they are stopped at exit."""


@atexit.register
def _stop_leftovers() -> None:
    for proc in _servers:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except OSError:
                pass


def _drain(stream: IO[bytes]) -> None:
    """Reads the server's output until it closes, so a full pipe never stalls it."""
    for _ in stream:
        pass


class SockchatController(BaseServerController, DirectoryBasedController):
    software_name = "sockchat"
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False
    nickserv = "NickServ"

    # Caps sockchat offers: a test asking for one of these fails if it is NAKed; tests of
    # other caps (read-marker, extended-monitor, message-redaction, sts) are skipped.
    capabilities = frozenset(
        (
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTILINE,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
            Capabilities.SETNAME,
        )
    )

    optional_behaviors = frozenset(
        (
            OptionalBehaviors.CAP_REQ_MINUS,
            OptionalBehaviors.MULTI_JOIN,
            OptionalBehaviors.MULTI_KICK,
            OptionalBehaviors.MULTI_NAMES_COMMAND,
            OptionalBehaviors.MULTI_PRIVMSG,
        )
    )

    # 005 tokens isupport.py testValues checks (what isupport.ts serves).
    isupport = {
        "CASEMAPPING": "ascii",
        "CHANMODES": "b,k,l,imnt",
        "CHANTYPES": "#",
        "MSGREFTYPES": "msgid,timestamp",
        "PREFIX": "(ov)@+",
        "TARGMAX": patma.ANYSTR,
        "UTF8ONLY": None,
        "WHOX": None,
    }

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory

        # sockchat refuses secret files other users can read.
        with self.open_file("oper.txt", "w") as fd:
            fd.write(OPER_SECRET + "\n")
        (self.directory / "oper.txt").chmod(0o600)
        args = [
            "deno", "run", "-A", str(REPO / "main.ts"), "serve",
            "--host", "127.0.0.1",
            "--port", "0",
            "--irc-host", hostname,
            "--server-name", SERVER_NAME,
            "--db", str(self.directory / "sockchat.db"),
            "--oper-file", str(self.directory / "oper.txt"),
            "--rate", "0",
            "--max-conns-per-ip", "1000",
            "--max-logins-per-minute", "0",
            "--log-level", "warn",
        ]  # fmt: skip
        if password is not None:
            with self.open_file("password.txt", "w") as fd:
                fd.write(password + "\n")
            (self.directory / "password.txt").chmod(0o600)
            args += ["--password-file", str(self.directory / "password.txt")]
        if ssl:
            self.gen_ssl()
            args += [
                "--irc-tls-port", str(port),
                "--tls-cert", str(self.pem_path),
                "--tls-key", str(self.key_path),
            ]  # fmt: skip
        else:
            args += ["--irc-port", str(port)]

        self._args = args
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            self._args,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None if self.debug_mode else subprocess.STDOUT,
            start_new_session=True,
        )
        _servers.add(self.proc)
        assert self.proc.stdout is not None
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()

    def wait_for_services(self) -> None:
        # NickServ is part of the server: it is up once the port is.
        self.wait_for_port()

    def registerUser(
        self,
        case: cases.BaseServerTestCase,  # type: ignore
        username: str,
        password: Optional[str] = None,
    ) -> None:
        assert password
        if len(password) not in ACCOUNT_PASSWORD_LENGTHS:
            self._seed_account(username, password)
            return
        client = case.addClient(show_io=False)
        case.sendLine(client, "NICK " + username)
        case.sendLine(client, "USER r e g :user")
        while case.getRegistrationMessage(client).command != "001":
            pass
        case.getMessages(client)
        case.sendLine(client, "PRIVMSG NickServ :REGISTER " + password)
        replies = case.getMessages(client)
        # Registered: WHOIS shows the account (330), which a refusal's NOTICE would not give.
        case.sendLine(client, "WHOIS " + username)
        whois = case.getMessages(client)
        assert any(m.command == "330" for m in whois), (replies, whois)
        case.sendLine(client, "QUIT")
        case.assertDisconnected(client)

    def _seed_account(self, username: str, password: str) -> None:
        """Writes the account straight into the database, between a stop and a start:
        NickServ refuses passwords of this length, and the server reads accounts only at start."""
        assert self.directory
        self.kill_proc()
        subprocess.run(
            [
                "deno", "run", "-A", str(REPO / "tests/irctest/seed_account.ts"),
                str(self.directory / "sockchat.db"), username, password,
            ],
            cwd=REPO,
            check=True,
        )  # fmt: skip
        self.port_open = False
        self._start()
        self.wait_for_port()


def get_irctest_controller_class() -> Type[SockchatController]:
    return SockchatController
