"""The README's "Try it" section, run as printed.

Every fenced ``sh`` block of the section runs, in order, in one ``bash -euo pipefail`` session in
the repository root, against the built binary serving on the README's own address
(``serve`` with no configuration: 127.0.0.1:9890, SQLite and keys in a temporary state
directory), with the Keystone stub that the section's first block starts on port 5000. Then the
section's ``python`` block runs with this suite's interpreter (python-tackerclient).

What the README shows is what the service must answer:

* a ``# ...`` comment line after a command is that command's output (``…`` stands for anything);
* a ``json`` block after a command is that command's response: the same keys, in the same
  order, with the same values, except ``id`` and ``created_at``, which vary;
* ``print(...)  # ...`` in the python block is what that line prints (``…`` again a wildcard).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import tokenize
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO_ROOT, Server, _binary, _clean_env, _wait_ready

README = REPO_ROOT / "README.md"
SECTION = "## Try it"
SERVICE_PORT = 9890
KEYSTONE_PORT = 5000
RUN_TIMEOUT = 180.0
MARK = "@@README-COMMAND-DONE {}@@"
MARK_RE = re.compile(r"\n@@README-COMMAND-DONE (\d+)@@\n")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$")
VARYING = {("vim", "id"), ("vim", "created_at")}


@dataclass
class Block:
    info: str
    text: str
    line: int  # README line of the block's first content line


@dataclass
class Command:
    text: str
    line: int
    expected: list[str] = field(default_factory=list)  # the `# ...` lines after it
    response: Block | None = None  # a ```json block after it

    @property
    def starts_keystone_stub(self) -> bool:
        return "keystone_stub.py" in self.text and self.text.rstrip().endswith("&")


def try_it_blocks(text: str) -> list[Block]:
    """The fenced blocks between "## Try it" and the next "## " heading."""
    lines = text.splitlines()
    try:
        start = lines.index(SECTION)
    except ValueError:
        raise AssertionError(f"README.md has no {SECTION!r} section") from None
    blocks: list[Block] = []
    fence: tuple[str, int, list[str]] | None = None
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if fence is None:
            if line.startswith("## "):
                break
            if line.startswith("```"):
                fence = (line[3:].strip(), number + 1, [])
        elif line.startswith("```"):
            info, first, body = fence
            blocks.append(Block(info, "\n".join(body) + "\n", first))
            fence = None
        else:
            fence[2].append(line)
    assert fence is None, "README.md: unclosed code fence in the Try it section"
    return blocks


def _complete(command: str) -> bool:
    """Whether the shell text so far is a whole command (quotes closed, no continuation)."""
    if command.rstrip("\n").endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:
        return False
    return True


def split_commands(block: Block) -> list[Command]:
    """A ``sh`` block as commands, each with the ``# output`` lines printed after it."""
    commands: list[Command] = []
    pending = ""
    pending_line = 0
    for offset, line in enumerate(block.text.splitlines()):
        if not pending and line.startswith("#"):
            assert commands, f"README.md line {block.line + offset}: output before any command"
            commands[-1].expected.append(line[2:] if line.startswith("# ") else line[1:])
            continue
        if not pending:
            if not line.strip():
                continue
            pending_line = block.line + offset
        pending += line + "\n"
        if _complete(pending):
            commands.append(Command(pending.rstrip("\n"), pending_line))
            pending = ""
    assert not pending, f"README.md line {pending_line}: unfinished command"
    return commands


def readme_examples() -> tuple[list[Command], Block]:
    blocks = try_it_blocks(README.read_text())
    commands: list[Command] = []
    python_blocks = []
    for block in blocks:
        if block.info == "sh":
            commands.extend(split_commands(block))
        elif block.info == "json":
            assert commands, f"README.md line {block.line}: a json block before any command"
            commands[-1].response = block
        elif block.info == "python":
            python_blocks.append(block)
    assert commands, "README.md: no sh block in the Try it section"
    assert commands[0].starts_keystone_stub, (
        "README.md: the Try it section should start the Keystone stub in the background first"
    )
    assert len(python_blocks) == 1, "README.md: expected one python block in the Try it section"
    return commands, python_blocks[0]


COMMANDS, PYTHON_BLOCK = readme_examples()


def matches(expected: str, actual: str) -> bool:
    """`expected` with `…` standing for any text."""
    pattern = ".*?".join(re.escape(part) for part in expected.split("…"))
    return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def _require_free(port: int, what: str) -> None:
    if _port_in_use(port):
        pytest.fail(
            f"port {port} is busy, but the README's examples need it for {what}: stop whatever "
            f"listens there (`ss -ltnp 'sport = :{port}'`) and run again",
            pytrace=False,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _kill_pid(pid: int) -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _listener_pids(port: int) -> set[int]:
    """Processes listening on 127.0.0.1/0.0.0.0:`port` (psutil comes with the clients)."""
    import psutil

    pids = set()
    for conn in psutil.net_connections(kind="tcp"):
        if (conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
                and conn.pid):
            pids.add(conn.pid)
    return pids


@pytest.fixture(scope="module")
def readme_env(tmp_path_factory):
    """The environment the README's commands run in: nothing of the user's state."""
    home = tmp_path_factory.mktemp("readme-home")
    env = _clean_env()
    env["HOME"] = str(home)
    env["XDG_STATE_HOME"] = str(home / "state")
    return env


@pytest.fixture(scope="module")
def readme_server(readme_env, tmp_path_factory):
    """`cargo run -- serve` as the README runs it: the built binary, defaults only."""
    binary = _binary()
    _require_free(SERVICE_PORT, "tacker-vim")
    _require_free(KEYSTONE_PORT, "the Keystone stub")
    workdir = tmp_path_factory.mktemp("readme-server")
    log = workdir / "server.log"
    env = dict(readme_env, RUST_LOG="info")
    with open(log, "wb") as out:
        process = subprocess.Popen([str(binary), "serve"], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    running = Server(url=f"http://127.0.0.1:{SERVICE_PORT}", state_dir=workdir, log=log,
                     process=process)
    try:
        _wait_ready(running)
        yield running
    finally:
        _stop(process)


@dataclass
class ShellRun:
    script: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[int, str]  # command index -> its stdout

    def __str__(self) -> str:
        return (f"--- script\n{self.script}\n--- exit {self.returncode}\n"
                f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}")


def _session_script(pid_file: Path) -> str:
    """The README's commands as one script, with a marker after each one so that its output
    can be told apart, and, after the stub is started, a wait until it listens (as a person
    typing the next command would)."""
    lines = [f"__readme_done() {{ printf '\\n{MARK.format('%s')}\\n' \"$1\"; }}"]
    for index, command in enumerate(COMMANDS):
        lines.append(command.text)
        if command.starts_keystone_stub:
            lines.append(f"printf '%s\\n' \"$!\" > {shlex.quote(str(pid_file))}")
            lines.append(
                "for _ in $(seq 100); do "
                f"(exec 3<>/dev/tcp/127.0.0.1/{KEYSTONE_PORT}) 2>/dev/null && break; "
                "sleep 0.1; done")
        lines.append(f"__readme_done {index}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def keystone_stub_pid_file(tmp_path_factory):
    """Where the session writes the stub's pid; the stub is stopped when the module ends."""
    pid_file = tmp_path_factory.mktemp("readme-stub") / "keystone-stub.pid"
    yield pid_file
    pids = set()
    try:
        pids.add(int(pid_file.read_text().strip()))
    except (OSError, ValueError):
        pass
    try:
        pids |= _listener_pids(KEYSTONE_PORT)
    except Exception:  # psutil may not see other users' sockets; the pid file is enough then
        pass
    for pid in pids:
        if pid != os.getpid():
            _kill_pid(pid)


@pytest.fixture(scope="module")
def shell_run(readme_server, readme_env, keystone_stub_pid_file, tmp_path_factory) -> ShellRun:
    script = _session_script(keystone_stub_pid_file)
    workdir = tmp_path_factory.mktemp("readme-shell")
    stdout_path, stderr_path = workdir / "stdout", workdir / "stderr"
    # Files, not pipes: the stub the script leaves running in the background would hold a pipe
    # open after bash exits.
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=REPO_ROOT,
                                   env=readme_env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err)
        try:
            returncode = process.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            returncode = -9
    stdout = stdout_path.read_text(errors="replace")
    stderr = stderr_path.read_text(errors="replace")
    outputs: dict[int, str] = {}
    position = 0
    for mark in MARK_RE.finditer(stdout):
        outputs[int(mark.group(1))] = stdout[position:mark.start()]
        position = mark.end()
    return ShellRun(script, returncode, stdout, stderr, outputs)


def test_sh_blocks_run_as_printed(shell_run):
    assert shell_run.returncode == 0, f"the README's sh blocks failed:\n{shell_run}"
    assert sorted(shell_run.outputs) == list(range(len(COMMANDS))), str(shell_run)


def _output(shell_run: ShellRun, index: int) -> str:
    if index not in shell_run.outputs:
        pytest.fail(f"the session stopped before README line {COMMANDS[index].line}:\n"
                    f"{shell_run}", pytrace=False)
    return shell_run.outputs[index]


SHOWN = [(i, c) for i, c in enumerate(COMMANDS) if c.expected]
UNSHOWN = [(i, c) for i, c in enumerate(COMMANDS)
           if not c.expected and c.response is None and not c.starts_keystone_stub]


@pytest.mark.parametrize("index,command", SHOWN, ids=[f"line{c.line}" for _, c in SHOWN])
def test_shown_output(shell_run, index, command):
    expected = "\n".join(command.expected)
    actual = _output(shell_run, index).rstrip("\n")
    assert matches(expected, actual), (
        f"README.md line {command.line}:\n$ {command.text}\n"
        f"README shows:\n{expected}\nthe service printed:\n{actual}")


@pytest.mark.parametrize("index,command", UNSHOWN, ids=[f"line{c.line}" for _, c in UNSHOWN])
def test_commands_without_shown_output_succeed(shell_run, index, command):
    """A command whose output the README leaves out must not print an error either."""
    actual = _output(shell_run, index)
    assert "TackerError" not in actual, (
        f"README.md line {command.line}:\n$ {command.text}\nanswered an error:\n{actual}")


def _compare(expected, actual, path=()):
    if path in VARYING:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{'/'.join(path)}: {actual!r} is not an object"
        assert list(actual) == list(expected), (
            f"{'/'.join(path) or 'body'}: keys {list(actual)}, README shows {list(expected)}")
        for key in expected:
            _compare(expected[key], actual[key], path + (key,))
    else:
        assert actual == expected, (
            f"{'/'.join(path)}: the service answered {actual!r}, README shows {expected!r}")


RESPONSES = [(i, c) for i, c in enumerate(COMMANDS) if c.response is not None]


@pytest.mark.parametrize("index,command", RESPONSES,
                         ids=[f"line{c.response.line}" for _, c in RESPONSES])
def test_shown_response(shell_run, index, command):
    try:
        expected = json.loads(command.response.text)
    except ValueError as e:
        pytest.fail(f"README.md line {command.response.line}: the json block is not JSON: {e}",
                    pytrace=False)
    raw = _output(shell_run, index)
    try:
        actual = json.loads(raw)
    except ValueError:
        pytest.fail(f"README.md line {command.line}: the service printed no JSON:\n{raw}",
                    pytrace=False)
    _compare(expected, actual)
    uuid.UUID(actual["vim"]["id"])
    assert TIMESTAMP.match(actual["vim"]["created_at"]), actual["vim"]["created_at"]


def _shown_prints(source: str) -> list[tuple[int, str]]:
    """(line, expected output) for each `print(...)  # output` line of the python block."""
    shown = []
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        row, col = token.start
        code = lines[row - 1][:col].strip()
        if code.startswith("print("):
            shown.append((row, token.string[1:].strip()))
    return shown


def test_python_block(shell_run, readme_env):
    """Runs after the sh blocks: it needs the stub they started and the service."""
    done = subprocess.run([sys.executable, "-c", PYTHON_BLOCK.text], cwd=REPO_ROOT,
                          env=readme_env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (
        f"README.md line {PYTHON_BLOCK.line}: the python block failed ({done.returncode}):\n"
        f"{done.stdout}{done.stderr}")
    shown = _shown_prints(PYTHON_BLOCK.text)
    printed = done.stdout.splitlines()
    assert len(printed) == len(shown), (
        f"README.md line {PYTHON_BLOCK.line}: printed {printed}, README shows {shown}")
    for (row, expected), actual in zip(shown, printed):
        assert matches(expected, actual), (
            f"README.md line {PYTHON_BLOCK.line + row - 1}: README shows {expected}, "
            f"the block printed {actual}")
