"""One region resolution for every pricing command: flags, AWS_REGION, AWS_DEFAULT_REGION, the profile's
region, us-east-1 (llm_advisor/cli/region.py; issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_advisor.cli.main import main
from llm_advisor.cli.region import RegionError, resolve_region, resolve_regions

CONFIG = ("[default]\nregion = eu-west-1\n\n[profile work]\nregion = ap-northeast-1\n\n"
          "[profile bare]\noutput = json\n")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize(("env", "expected"), [
    ({"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-central-1", "AWS_PROFILE": "work"}, "us-west-2"),
    ({"AWS_REGION": " ", "AWS_DEFAULT_REGION": "eu-central-1", "AWS_PROFILE": "work"}, "eu-central-1"),
    ({"AWS_PROFILE": "work"}, "ap-northeast-1"),
    ({"AWS_DEFAULT_PROFILE": "work"}, "ap-northeast-1"),
    ({}, "eu-west-1"),  # [default]
    ({"AWS_PROFILE": "bare"}, "us-east-1"),  # a profile without a region
])
def test_the_order(config: Path, env: dict[str, str], expected: str) -> None:
    assert resolve_region({**env, "AWS_CONFIG_FILE": str(config)})[0] == expected
    assert resolve_regions(["sa-east-1", "us-east-2"], env) == ("sa-east-1", "us-east-2")  # flags first


def test_no_config_file_means_us_east_1(tmp_path: Path) -> None:
    assert resolve_region({"AWS_CONFIG_FILE": str(tmp_path / "none")}) == ("us-east-1", "the default")


def test_a_named_profile_that_does_not_exist_is_an_error(config: Path, tmp_path: Path) -> None:
    env = {"AWS_PROFILE": "typo", "AWS_CONFIG_FILE": str(config),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    with pytest.raises(RegionError, match="AWS_PROFILE=typo: no such profile"):
        resolve_region(env)


def test_a_profile_only_in_the_credentials_file_is_fine(config: Path, tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.write_text("[ci]\naws_access_key_id = x\n")
    env = {"AWS_PROFILE": "ci", "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(creds)}
    assert resolve_region(env)[0] == "us-east-1"


def test_a_broken_config_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"region = x\n\xff\xfe")
    with pytest.raises(RegionError, match="config"):
        resolve_region({"AWS_CONFIG_FILE": str(path)})


@pytest.mark.parametrize("command", [
    ["plan", "--model", "Qwen/Qwen3-8B", "--concurrency", "4", "--max-model-len", "4096",
     "--pricing", "snapshot", "--json"],
    ["prices", "--pricing", "snapshot", "--json", "--gpu", "L4"],
])
def test_plan_and_prices_honour_aws_region(command: list[str], monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    assert main(command) == 0
    data = json.loads(capsys.readouterr().out)
    regions = {data["placement"]["region"]} if isinstance(data, dict) else {o["region"] for o in data}
    assert regions == {"us-west-2"}


def test_render_honours_the_profile_region(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert main(["render", "--model", "Qwen/Qwen3-8B", "--concurrency", "4", "--max-model-len", "4096",
                 "--pricing", "snapshot", "--out", str(tmp_path / "out")]) == 0
    assert "(ap-northeast-1," in capsys.readouterr().out
