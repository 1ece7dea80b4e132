"""The command line checked before Hydra runs: a syntax error, an unknown key (with the
keys its parent has) or an unknown group option (with the valid ones) as one line.
"""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlzoo.config.compose import compose_plain, first_values
from dlzoo.errors import ConfigError


def _missing_option(exc: Exception) -> ConfigError | None:
    """Hydra's page-long 'Could not find' text as one line, or ``None``."""
    match = re.search(r"Could not find '([^']+)'", str(exc))
    options = getattr(exc, "options", None)
    if not match:
        return None
    group, _, name = match.group(1).rpartition("/")
    listed = f": choose one of {', '.join(options)}" if options else ""
    return ConfigError(f"unknown {group or 'config'} option '{name}'{listed}")


def syntax_error(overrides: list[str], exc: Exception) -> ConfigError:
    """Hydra's parse error as one line naming the override it comes from."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    where = ""
    for override in overrides:  # Hydra's message does not say which one it was
        try:
            parser.parse_overrides([override])
        except OverrideParseException:
            where = f" {override!r}"
            break
    reason = str(exc).strip().splitlines()[0]
    return ConfigError(
        f"cannot parse the override{where}: {reason}; check its brackets and quotes "
        "(grammar: https://hydra.cc/docs/advanced/override_grammar/basic/)"
    )


def _unknown_key(key: str, firsts: list[str]) -> ConfigError | None:
    """The unknown ``key`` named with the keys its parent has (``None``: can't tell)."""
    from hydra.errors import ConfigCompositionException

    try:
        cfg = compose_plain([o for o in firsts if not o.startswith(f"{key}=")])
    except ConfigCompositionException:
        return None
    parent, _, leaf = key.rpartition(".")
    # the deepest part of the key that exists (for `nope.x=1`: the root config)
    while parent and not isinstance(OmegaConf.select(cfg, parent), DictConfig):
        parent, _, leaf = parent.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    valid = sorted(k for k in node if not str(k).startswith("_"))
    where = parent or "the root config"
    return ConfigError(
        f"unknown key '{key}': {where} has no '{leaf}'; valid keys: {', '.join(valid)}"
    )


def check_overrides(overrides: list[str]) -> DictConfig | None:
    """Compose ``train.yaml`` as the run will, failing early on bad overrides.

    Hydra rejects unknown keys and options too, but without saying which exist, and a
    syntax error reaches the user as a traceback; these become one line that does.
    The composed config serves the other checks, so the command line is composed once
    before Hydra's run.

    Returns:
        The config, each sweep at its first value (a sweep that cannot be expanded
        here: the defaults), or ``None`` where Hydra will report the problem itself.

    Raises:
        ConfigError: a syntax error, an unknown key (listing its parent's keys) or an
            unknown group option (listing the valid ones).
    """
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )

    try:
        firsts = first_values(overrides) or []
        return compose_plain(firsts)
    except OverrideParseException as exc:
        raise syntax_error(overrides, exc) from None
    except MissingConfigException as exc:
        missing = _missing_option(exc)
        if missing:
            raise missing from None
        return None
    except ConfigCompositionException as exc:
        match = re.search(r"Could not override '([^']+)'", str(exc))
        if not match or "not in struct" not in str(exc.__cause__ or exc):
            return None  # Hydra's own message says what is wrong
        error = _unknown_key(match.group(1), firsts)
        if error is None:
            return None
        raise error from None


def data_config(overrides: list[str]) -> dict[str, Any]:
    """The resolved ``data`` config that ``overrides`` compose (as ``dlzoo-train``'s).

    Raises:
        ConfigError: an override that does not parse, an unknown key or option.
    """
    from omegaconf import OmegaConf

    from dlzoo.config.checks import check_keys

    cfg = check_overrides(overrides)
    if cfg is None:
        raise ConfigError(f"the overrides {' '.join(overrides)} do not compose a config")
    check_keys(cfg.data, "data")
    return OmegaConf.to_container(cfg.data, resolve=True)
