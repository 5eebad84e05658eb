"""`docker run` command lines mapped onto the run configuration and checked."""

from __future__ import annotations

import pytest

from hardbase.audit.dockerrun import exposes_runtime_socket, read_docker_run
from hardbase.audit.run import check_workload
from hardbase.errors import InputError


def _ids(command: str) -> set[str]:
    return {finding.rule_id for finding in check_workload(read_docker_run(command))}


def test_privileged_and_socket() -> None:
    ids = _ids("docker run --privileged -v /var/run/docker.sock:/var/run/docker.sock alpine")
    assert "HB-RUN-001" in ids
    assert "HB-RUN-011" in ids


def test_equals_forms() -> None:
    workload = read_docker_run(
        "docker run --privileged=true --cap-add=SYS_ADMIN --network=host --user=0 alpine"
    )
    container = workload.containers[0]

    assert container.privileged is not None
    assert [c.value for c in container.capabilities_add] == ["SYS_ADMIN"]
    assert workload.host_network is not None and workload.host_network.value
    assert container.run_as_user is not None and container.run_as_user.value == 0


def test_grouped_short_flags_find_image() -> None:
    workload = read_docker_run("docker run -it --rm -u 1000 -m 256m nginx:1.27 nginx -g off")
    container = workload.containers[0]

    assert container.image == "nginx:1.27"
    assert container.run_as_user is not None and container.run_as_user.value == 1000
    assert container.memory_limit is not None and container.memory_limit.value == "256m"


def test_mount_flag_bind_of_containerd_socket() -> None:
    ids = _ids(
        "docker run --mount type=bind,src=/run/containerd/containerd.sock,dst=/c.sock busybox"
    )
    assert "HB-RUN-011" in ids


def test_hardened_command_has_no_findings() -> None:
    ids = _ids(
        "docker run --read-only --cap-drop ALL --security-opt no-new-privileges "
        "--user 10001:10001 --cpus 1 --memory 256m registry.example.com/api:1.0"
    )
    assert ids == set()


def test_seccomp_unconfined_is_high() -> None:
    findings = check_workload(read_docker_run("docker run --security-opt seccomp=unconfined x"))
    seccomp = [f for f in findings if f.rule_id == "HB-RUN-006"]
    assert len(seccomp) == 1
    assert str(seccomp[0].severity) == "high"


def test_default_seccomp_not_reported() -> None:
    assert "HB-RUN-006" not in _ids("docker run alpine")


def test_pid_and_ipc_host() -> None:
    workload = read_docker_run("docker container run --pid host --ipc=host alpine")
    assert workload.host_pid is not None and workload.host_pid.value
    assert workload.host_ipc is not None and workload.host_ipc.value


def test_not_docker_run_rejected() -> None:
    with pytest.raises(InputError, match="not a docker run command"):
        read_docker_run("kubectl run x --image=y")


def test_unbalanced_quotes_rejected() -> None:
    with pytest.raises(InputError, match="cannot split"):
        read_docker_run("docker run 'alpine")


@pytest.mark.parametrize(
    ("path", "exposed"),
    [
        ("/var/run/docker.sock", True),
        ("/var/run", True),
        ("/", True),
        ("/run/containerd", True),
        ("/var/log", False),
        ("/var/run/docker.sock.bak", False),
    ],
)
def test_runtime_socket_paths(path: str, exposed: bool) -> None:
    assert exposes_runtime_socket(path) is exposed
