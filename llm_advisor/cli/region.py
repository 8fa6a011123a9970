"""One region resolution for every command that prices (`prices`, `plan`, `render`):

1. the command's --region flags;
2. AWS_REGION (what the AWS SDKs read: AWS SDKs and Tools Reference Guide, "AWS Region" setting);
3. AWS_DEFAULT_REGION (the AWS CLI's and boto3's: AWS CLI User Guide, "Environment variables");
4. the `region` of the profile in the shared config file: AWS_PROFILE (else AWS_DEFAULT_PROFILE, else
   `default`) in AWS_CONFIG_FILE (default ~/.aws/config), whose sections are `[default]` and
   `[profile NAME]` (AWS CLI User Guide, "Configuration and credential file settings");
5. us-east-1.

A profile named in AWS_PROFILE that neither shared file has is an error naming it (boto3 would refuse it
later, after the wrong region had been priced). Read with configparser: no botocore import, so `--help`
and `size` stay fast.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_REGION = "us-east-1"


class RegionError(ValueError):
    """The region cannot be resolved (a named profile that does not exist, an unreadable config file)."""


def _sections(path: Path) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegionError(f"{path}: cannot be read ({exc}); fix it, or pass --region") from exc
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise RegionError(f"{path}: not an AWS config file ({first}); fix it, or pass --region") from exc
    return parser


def profile_region(env: Mapping[str, str]) -> tuple[str | None, str]:
    """(region of the active profile, where it was read) from the shared config file."""
    named = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
    profile = named or "default"
    config_path = Path(env.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser()
    config = _sections(config_path)
    section = "default" if profile == "default" else f"profile {profile}"
    if config is not None and config.has_section(section):
        region = config.get(section, "region", fallback="").strip()
        return (region or None), f"profile {profile} in {config_path}"
    if named:
        creds_path = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials")
        creds = _sections(creds_path.expanduser())
        if creds is None or not creds.has_section(profile):
            raise RegionError(f"AWS_PROFILE={profile}: no such profile in {config_path} or {creds_path}; "
                              "set AWS_PROFILE to one of their profiles, unset it, or pass --region")
    return None, f"profile {profile}"


def resolve_regions(flags: Sequence[str] | None, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The regions to price: the flags when given, else the one region of steps 2-5 above."""
    if flags:
        return tuple(flags)
    return (resolve_region(env)[0],)


def resolve_region(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(region, where it came from) by steps 2-5 of the module docstring."""
    env = os.environ if env is None else env
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = (env.get(var) or "").strip()
        if value:
            return value, var
    region, where = profile_region(env)
    if region:
        return region, where
    return DEFAULT_REGION, "the default"
