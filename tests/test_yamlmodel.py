"""Typed YAML files: size and alias limits, and one-line errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardbase._yamlmodel import MAX_NODES, parse_yaml, read_yaml
from hardbase.errors import InputError
from hardbase.rebuild.config import ConfigError, load_config

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]',
        *(
            f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 10)}]"
            for n in range(8)
        ),
    ]
)


def write_config(root: Path, text: str) -> Path:
    path = root / "hardbase.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_nested_key_names_line(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "images:\n  - name: web\n    reference: docker://registry.test/web:1\n"
        "    spec: web.yaml\n    tag: latest\n",
    )

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)

    message = str(caught.value)
    assert message.startswith(f"{path}:5: ")
    assert "unknown key 'tag' in images.0" in message


def test_invalid_value_names_key_path(tmp_path: Path) -> None:
    path = write_config(tmp_path, "discover: true\nstate: /var/lib/state.json\n")

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)

    message = str(caught.value)
    assert message.startswith(f"{path}:2: state: ")
    assert "must be a path inside the repository" in message


def test_model_error_without_key_names_file(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "images:\n"
        "  - {name: web, reference: 'docker://registry.test/web:1', spec: a.yaml}\n"
        "  - {name: web, reference: 'docker://registry.test/web:2', spec: b.yaml}\n",
    )

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)

    assert str(caught.value).startswith(f"{path}: image names must be unique: web")


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    write_config(tmp_path, "discover: true\nexclude: [a\n")

    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)

    assert "invalid YAML at line 3" in str(caught.value)


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "# nothing set\n")

    assert load_config(tmp_path).discover is True


def test_oversized_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n", encoding="utf-8")

    with pytest.raises(InputError) as caught:
        read_yaml(path, what="config", max_bytes=50, error_type=InputError)

    assert "config is larger than 50 bytes" in str(caught.value)


def test_small_aliases_allowed() -> None:
    parsed = parse_yaml(
        "base: &args {A: '1'}\nfirst: *args\nsecond: *args\n", "inline", error_type=InputError
    )

    assert parsed.data["second"] == {"A": "1"}
    assert parsed.lines[("second",)] == 3


def test_billion_laughs_rejected() -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml(BILLION_LAUGHS, "laughs.yaml", error_type=InputError)

    assert f"more than {MAX_NODES} values" in str(caught.value)
    assert str(caught.value).startswith("laughs.yaml: ")


def test_recursive_alias_rejected() -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml("loop: &loop [*loop]\n", "loop.yaml", error_type=InputError)

    assert "alias refers to a node that contains it" in str(caught.value)


def test_two_documents_rejected() -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml("a: 1\n---\nb: 2\n", "two.yaml", error_type=InputError)

    assert "invalid YAML at line 2" in str(caught.value)
