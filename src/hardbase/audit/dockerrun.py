"""``docker run`` command lines, and the Docker option syntax that compose files share.

The command line is split with :mod:`shlex` as a POSIX shell would. Every
flag that changes isolation is read in its ``--flag value``, ``--flag=value``
and short forms. Flags that take a value are listed, so the image name is
found after them. ``docker container run`` and ``podman run`` are read the
same way.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypedDict

from hardbase.audit.runconfig import (
    Container,
    Location,
    Runtime,
    Seccomp,
    Setting,
    Volume,
    Workload,
)
from hardbase.errors import InputError

logger = logging.getLogger(__name__)

#: File name shown in findings about a command line.
COMMAND_LINE = "<docker run>"

#: Flags of ``docker run`` (Docker 27) that take a value, long and short forms.
VALUE_FLAGS = frozenset(
    {
        "--add-host",
        "--annotation",
        "-a",
        "--attach",
        "--blkio-weight",
        "--blkio-weight-device",
        "--cap-add",
        "--cap-drop",
        "--cgroup-parent",
        "--cgroupns",
        "--cidfile",
        "--cpu-count",
        "--cpu-percent",
        "--cpu-period",
        "--cpu-quota",
        "--cpu-rt-period",
        "--cpu-rt-runtime",
        "-c",
        "--cpu-shares",
        "--cpus",
        "--cpuset-cpus",
        "--cpuset-mems",
        "--detach-keys",
        "--device",
        "--device-cgroup-rule",
        "--device-read-bps",
        "--device-read-iops",
        "--device-write-bps",
        "--device-write-iops",
        "--dns",
        "--dns-option",
        "--dns-search",
        "--domainname",
        "--entrypoint",
        "-e",
        "--env",
        "--env-file",
        "--expose",
        "--gpus",
        "--group-add",
        "--health-cmd",
        "--health-interval",
        "--health-retries",
        "--health-start-interval",
        "--health-start-period",
        "--health-timeout",
        "-h",
        "--hostname",
        "--io-maxbandwidth",
        "--io-maxiops",
        "--ip",
        "--ip6",
        "--ipc",
        "--isolation",
        "--kernel-memory",
        "-l",
        "--label",
        "--label-file",
        "--link",
        "--link-local-ip",
        "--log-driver",
        "--log-opt",
        "--mac-address",
        "-m",
        "--memory",
        "--memory-reservation",
        "--memory-swap",
        "--memory-swappiness",
        "--mount",
        "--name",
        "--network",
        "--net",
        "--network-alias",
        "--net-alias",
        "--oom-score-adj",
        "--pid",
        "--pids-limit",
        "--platform",
        "-p",
        "--publish",
        "--pull",
        "--restart",
        "--runtime",
        "--security-opt",
        "--shm-size",
        "--stop-signal",
        "--stop-timeout",
        "--storage-opt",
        "--sysctl",
        "--tmpfs",
        "--ulimit",
        "-u",
        "--user",
        "--userns",
        "--uts",
        "-v",
        "--volume",
        "--volume-driver",
        "--volumes-from",
        "-w",
        "--workdir",
    }
)

#: Host files and folders whose mount hands the container the container runtime's API.
RUNTIME_SOCKETS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/var/run/crio/crio.sock",
    "/run/podman/podman.sock",
    "/var/run/cri-dockerd.sock",
)


def exposes_runtime_socket(host_path: str) -> bool:
    """Return True when mounting ``host_path`` exposes a container runtime socket.

    A folder that contains a socket (``/var/run``, ``/run/containerd``, ``/``)
    exposes it as much as the socket itself.
    """
    normalized = "/" + "/".join(part for part in host_path.split("/") if part not in ("", "."))
    return any(
        socket == normalized or socket.startswith(normalized.rstrip("/") + "/")
        for socket in RUNTIME_SOCKETS
    )


@dataclass
class DockerSecurity:
    """The settings that ``--security-opt`` values make."""

    seccomp: Seccomp | None = None
    no_new_privileges: bool | None = None
    apparmor: str | None = None
    label_disabled: bool = False
    unknown: list[str] = field(default_factory=list)


def parse_security_opt(values: list[str]) -> DockerSecurity:
    """Read ``--security-opt`` or compose ``security_opt`` values (``key=value``, ``key:value``)."""
    result = DockerSecurity()
    for value in values:
        key, separator, argument = _split_option(value)
        if key == "seccomp":
            if argument == "unconfined":
                result.seccomp = Seccomp("Unconfined")
            elif argument in ("", "builtin"):
                result.seccomp = Seccomp("RuntimeDefault")
            else:
                result.seccomp = Seccomp("Localhost", argument)
        elif key == "no-new-privileges":
            result.no_new_privileges = not separator or argument.lower() in ("true", "1")
        elif key == "apparmor":
            result.apparmor = argument
        elif key == "label" and argument == "disable":
            result.label_disabled = True
        else:
            result.unknown.append(value)
    return result


class SecurityFields(TypedDict):
    """Container fields set by ``--user`` and ``--security-opt`` or their compose keys."""

    allow_privilege_escalation: Setting[bool] | None
    run_as_user: Setting[int] | None
    user_name: Setting[str] | None
    seccomp: Setting[Seccomp] | None
    apparmor: Setting[str] | None


def security_fields(
    security_opt: list[Setting[str]], user: Setting[str] | None, fallback: Location
) -> SecurityFields:
    """Map security options and a user setting onto container fields.

    A field set by the security options is placed at the last option, or at
    ``fallback`` when there are none; the user fields are placed at ``user``.
    """
    security = parse_security_opt([option.value for option in security_opt])
    where = security_opt[-1].location if security_opt else fallback
    user_spec = parse_user(user.value) if user is not None else None
    return SecurityFields(
        allow_privilege_escalation=(
            Setting(not security.no_new_privileges, where)
            if security.no_new_privileges is not None
            else None
        ),
        run_as_user=(
            Setting(user_spec.uid, user.location)
            if user is not None and user_spec is not None and user_spec.uid is not None
            else None
        ),
        user_name=(
            Setting(user_spec.name, user.location)
            if user is not None and user_spec is not None and user_spec.name is not None
            else None
        ),
        seccomp=Setting(security.seccomp, where) if security.seccomp else None,
        apparmor=Setting(security.apparmor, where) if security.apparmor else None,
    )


def _split_option(value: str) -> tuple[str, str, str]:
    equals = value.find("=")
    colon = value.find(":")
    # Docker accepts "key:value" from old versions; "=" wins when both appear.
    if equals == -1 and colon == -1:
        return value, "", ""
    cut = equals if equals != -1 and (colon == -1 or equals < colon) else colon
    return value[:cut], value[cut], value[cut + 1 :]


@dataclass(frozen=True)
class UserSpec:
    """A ``--user`` value: ``uid[:gid]`` or ``name[:group]``."""

    uid: int | None
    name: str | None


def parse_user(value: str) -> UserSpec:
    """Split ``user[:group]`` and tell a numeric uid from a user name."""
    user = value.split(":", 1)[0].strip()
    if user.isdigit():
        return UserSpec(int(user), None)
    if user == "root":
        return UserSpec(0, None)
    return UserSpec(None, user or None)


def parse_volume_short(value: str) -> tuple[str, str | None]:
    """Split a ``-v`` / compose short volume into (source, target); source is a path or a name."""
    parts = value.split(":")
    if len(parts) == 1:
        return value, None
    return parts[0], parts[1]


def is_host_path(source: str) -> bool:
    """Return True when a volume source is a host path rather than a named volume."""
    return source.startswith(("/", "./", "../", "~")) or source in (".", "..")


def parse_mount(value: str) -> dict[str, str]:
    """Parse a ``--mount type=bind,source=/x,target=/y`` value into its fields."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        key, _, argument = part.partition("=")
        key = key.strip().lower()
        if key == "src":
            key = "source"
        elif key in ("dst", "destination"):
            key = "target"
        fields[key] = argument.strip()
    return fields


def split_command(command: str) -> list[str]:
    """Split a ``docker run`` command line into the arguments after ``run``.

    Raises InputError when the text does not split as a shell would split it
    or is not a ``docker run`` / ``docker container run`` / ``podman run`` command.
    """
    try:
        words = shlex.split(command, comments=False, posix=True)
    except ValueError as error:
        raise InputError(
            f"--docker-run {command!r}: cannot split the command line: {error}",
            hint="check the quotes",
        ) from error
    while words and (words[0] in ("sudo", "env") or "=" in words[0]):
        words.pop(0)
    if len(words) >= 2 and words[0].endswith(("docker", "podman")) and words[1] == "run":
        return words[2:]
    if len(words) >= 3 and words[0].endswith("docker") and words[1:3] == ["container", "run"]:
        return words[3:]
    raise InputError(
        f"--docker-run {command!r}: not a docker run command",
        hint="pass the whole command, starting with 'docker run'",
    )


def _flags(arguments: list[str]) -> Iterator[tuple[str, str | None, str]]:
    """Yield (flag, value, text as written) until the image name, then stop."""
    index = 0
    while index < len(arguments):
        word = arguments[index]
        if word == "--" or not word.startswith("-") or word == "-":
            yield "", word if word != "--" else None, word
            return
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            if equals:
                yield name, value, word
            elif name in VALUE_FLAGS and index + 1 < len(arguments):
                index += 1
                yield name, arguments[index], f"{word} {arguments[index]}"
            else:
                yield name, None, word
        else:
            # Short flags may be grouped (-it) and the last may take a value (-itv /x:/y).
            for position, letter in enumerate(word[1:], start=1):
                flag = f"-{letter}"
                if flag in VALUE_FLAGS:
                    rest = word[position + 1 :]
                    if rest:
                        yield flag, rest.removeprefix("="), word
                    elif index + 1 < len(arguments):
                        index += 1
                        yield flag, arguments[index], f"{word} {arguments[index]}"
                    break
                yield flag, None, word
        index += 1


@dataclass
class _Collected:
    image: str | None = None
    name: str | None = None
    settings: dict[str, Setting[str]] = field(default_factory=dict)
    cap_add: list[Setting[str]] = field(default_factory=list)
    cap_drop: list[Setting[str]] = field(default_factory=list)
    security: list[Setting[str]] = field(default_factory=list)
    mounts: list[Volume] = field(default_factory=list)


ALIASES = {"-u": "--user", "-m": "--memory", "--net": "--network", "-v": "--volume"}


def read_docker_run(command: str) -> Workload:
    """Map a ``docker run`` command line onto a workload with one container."""
    collected = _Collected()
    for flag, value, text in _flags(split_command(command)):
        location = Location(COMMAND_LINE, path=text)
        flag = ALIASES.get(flag, flag)
        if flag == "":
            collected.image = value
        elif flag == "--cap-add" and value:
            collected.cap_add += [Setting(c, location) for c in _capabilities(value)]
        elif flag == "--cap-drop" and value:
            collected.cap_drop += [Setting(c, location) for c in _capabilities(value)]
        elif flag == "--security-opt" and value:
            collected.security.append(Setting(value, location))
        elif flag == "--volume" and value:
            source, target = parse_volume_short(value)
            if is_host_path(source):
                collected.mounts.append(Volume(target or source, "bind", location, source))
        elif flag == "--mount" and value:
            fields = parse_mount(value)
            if fields.get("type", "volume") == "bind" and fields.get("source"):
                collected.mounts.append(
                    Volume(fields.get("target", ""), "bind", location, fields["source"])
                )
        elif flag in ("--privileged", "--read-only"):
            if value is None or value.lower() in ("true", "1"):
                collected.settings[flag] = Setting("true", location)
        elif value is not None:
            collected.settings[flag] = Setting(value, location)
    return _workload(command, collected)


def _capabilities(value: str) -> list[str]:
    return [part.strip().upper().removeprefix("CAP_") for part in value.split(",") if part.strip()]


def _workload(command: str, collected: _Collected) -> Workload:
    settings = collected.settings
    whole = Location(COMMAND_LINE, path=command)
    security = security_fields(collected.security, settings.get("--user"), whole)
    cpu = settings.get("--cpus") or settings.get("--cpu-quota")
    name = settings["--name"].value if "--name" in settings else (collected.image or "container")
    container = Container(
        name=name,
        location=whole,
        security_context=whole,
        image=collected.image,
        privileged=_flag_bool(settings.get("--privileged")),
        capabilities_add=tuple(collected.cap_add),
        capabilities_drop=tuple(collected.cap_drop),
        capabilities=whole,
        read_only_root_filesystem=_flag_bool(settings.get("--read-only")),
        cpu_limit=cpu,
        memory_limit=settings.get("--memory"),
        limits=whole,
        mounts=tuple(collected.mounts),
        **security,
    )
    return Workload(
        runtime=Runtime.DOCKER_RUN,
        kind="run",
        name=name,
        location=whole,
        pod=whole,
        containers=(container,),
        host_network=_host_mode(settings.get("--network")),
        host_pid=_host_mode(settings.get("--pid")),
        host_ipc=_host_mode(settings.get("--ipc")),
    )


def _flag_bool(setting: Setting[str] | None) -> Setting[bool] | None:
    return Setting(True, setting.location) if setting is not None else None


def _host_mode(setting: Setting[str] | None) -> Setting[bool] | None:
    if setting is None:
        return None
    return Setting(setting.value == "host", setting.location)
