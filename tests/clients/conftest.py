"""Fixtures: a tacker-vim server in noauth mode, Keystone/Kubernetes stubs, clients.

The server binary is ``$TACKER_VIM_BIN`` (default ``target/debug/tacker-vim``,
relative to the repository root); build it before running this suite.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from stubs import Stubs

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
CLI_TIMEOUT = 120.0


def _clean_env() -> dict:
    """The environment without OS_* settings or proxies that could leak into a run."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("OS_")
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _binary() -> Path:
    path = Path(os.environ.get("TACKER_VIM_BIN", "target/debug/tacker-vim"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not os.access(path, os.X_OK):
        pytest.fail(f"tacker-vim binary not found at {path}: build it (cargo build) "
                    "or point TACKER_VIM_BIN at it", pytrace=False)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    state_dir: Path
    log: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"tacker-vim exited with {server.process.returncode} while starting:\n"
                        f"{server.log_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"tacker-vim did not answer GET / within {START_TIMEOUT:.0f}s:\n"
                f"{server.log_text()}", pytrace=False)


@pytest.fixture(scope="session")
def stubs():
    with Stubs() as running:
        yield running


@pytest.fixture(scope="session")
def server(tmp_path_factory, stubs):
    binary = _binary()
    state = tmp_path_factory.mktemp("tacker-vim")
    keys = state / "keys"
    keys.mkdir(mode=0o700)
    keys.chmod(0o700)
    env = _clean_env()
    env.setdefault("RUST_LOG", "info")
    gen = subprocess.run([str(binary), "keys", "generate", "--file", str(keys / "default.key")],
                         env=env, capture_output=True, text=True, timeout=60)
    if gen.returncode != 0:
        pytest.fail(f"`tacker-vim keys generate` failed ({gen.returncode}):\n"
                    f"{gen.stdout}{gen.stderr}", pytrace=False)

    port = _free_port()
    conf = state / "tacker.conf"
    conf.write_text(
        "[DEFAULT]\n"
        "bind_host = 127.0.0.1\n"
        f"bind_port = {port}\n"
        f"state_path = {state}\n"
        "\n"
        "[database]\n"
        f"connection = sqlite:///{state}/tacker.sqlite\n"
        "\n"
        "[vim_keys]\n"
        f"openstack = {keys}\n"
        "default_secret_key = default.key\n"
    )
    log = state / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(binary), "serve", "--config-file", str(conf)],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, cwd=state)
    running = Server(url=f"http://127.0.0.1:{port}", state_dir=state, log=log, process=process)
    try:
        _wait_ready(running)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def unique():
    """A name no other test uses: ``unique("vim")`` -> ``vim-3f2a9c1e``."""
    return lambda prefix="vim": f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def tacker(server):
    """python-tackerclient's legacy client, as a noauth deployment uses it."""
    from tackerclient.v1_0 import client

    return client.Client(endpoint_url=server.url, auth_strategy="noauth", timeout=60)


@pytest.fixture
def vim_body(stubs):
    """Builds a create body for an OpenStack VIM whose Keystone is the stub."""

    def build(name: str, tenant_id: str, **overrides) -> dict:
        vim = {
            "tenant_id": tenant_id,
            "name": name,
            "type": "openstack",
            "auth_url": stubs.keystone_url,
            "vim_project": {"name": "nfv", "project_domain_name": "Default"},
            "auth_cred": {"username": "nfv_user", "password": "mySecretPW",
                          "user_domain_name": "Default", "cert_verify": "True"},
            "description": "",
            "is_default": False,
        }
        vim.update(overrides)
        return {"vim": vim}

    return build


@dataclass
class CliResult:
    args: list
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (f"$ {shlex.join(self.args)}\nexit {self.returncode}\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


class OpenStackCli:
    """``openstack --os-auth-type none --os-endpoint URL ...`` from this venv."""

    def __init__(self, endpoint: str, workdir: Path):
        self.endpoint = endpoint
        self.workdir = workdir
        self.executable = Path(sys.prefix) / "bin" / "openstack"
        if not self.executable.exists():
            pytest.fail(f"{self.executable} not found: run this suite with the python of "
                        "scripts/clients-venv.sh", pytrace=False)
        self.env = _clean_env()
        # Keep cliff's output plain and stable.
        self.env["COLUMNS"] = "200"
        self.env["NO_COLOR"] = "1"
        self.env["HOME"] = str(workdir)

    def run(self, *args: str, ok: bool | None = True) -> CliResult:
        """Runs the CLI; ``ok`` True/False asserts success/failure, None checks nothing."""
        argv = [str(self.executable), "--os-auth-type", "none", "--os-endpoint", self.endpoint,
                *args]
        done = subprocess.run(argv, env=self.env, cwd=self.workdir, capture_output=True,
                              text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
        result = CliResult(argv, done.returncode, done.stdout, done.stderr)
        if ok and result.returncode != 0:
            pytest.fail(f"command failed:\n{result}", pytrace=False)
        if ok is False and result.returncode == 0:
            pytest.fail(f"command succeeded, expected a failure:\n{result}", pytrace=False)
        return result

    def json(self, *args: str):
        return self.run(*args, "-f", "json").json()


@pytest.fixture(scope="session")
def openstack(server, tmp_path_factory):
    return OpenStackCli(server.url, tmp_path_factory.mktemp("openstack-cli"))


@pytest.fixture
def vim_config(tmp_path, stubs):
    """Writes a ``--config-file`` YAML for ``openstack vim register/set``; returns its path."""
    import yaml

    def write(kind: str = "openstack", **overrides) -> Path:
        if kind == "openstack":
            doc = {
                "auth_url": stubs.keystone_url,
                "username": "nfv_user",
                "password": "mySecretPW",
                "project_name": "nfv",
                "project_domain_name": "Default",
                "user_domain_name": "Default",
                "cert_verify": "True",
            }
        elif kind == "kubernetes":
            doc = {
                "auth_url": stubs.k8s_url,
                "type": "kubernetes",
                "bearer_token": "good-token",
                "project_name": "default",
            }
        else:
            raise ValueError(kind)
        doc.update(overrides)
        path = tmp_path / f"{kind}-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return write
