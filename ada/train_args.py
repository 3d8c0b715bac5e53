"""What ``ada train`` accepts: the concise ``--help``, and a check of the YAML and the overrides before anything runs.

The model fields come from the config dataclasses (``EnvConfig``, ``PPOConfig``, ``PolicyConfig``,
``CurriculumConfig``): their defaults and the comment after each field are the help text. A wrong key or
value is refused in one line naming where it came from (the YAML file or the ``--option``) and the valid
fields, before Lightning builds anything.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[1] / "experiments" / "configs"  # example configs of a checkout

# ada's own run options (top-level YAML keys / --options): type, default, help
RUN_OPTIONS: dict[str, tuple[type, Any, str]] = {
    "checkpoint_every": (int, 10, "iterations between periodic checkpoints"),
    "keep_last": (int, 3, "periodic checkpoints kept besides last.ckpt; 0 keeps all"),
    "artifacts": (bool, True, "curves and an agent GIF under plots/ at the end"),
}
COMPACT_SECTIONS = ("kickstart",)  # model sections whose fields --help shows on one line
OTHER_TOP_KEYS = ("trainer", "model", "seed_everything", "optimizer", "lr_scheduler", "print_config")

# One-line docs for fields whose dataclass has no comment after them.
FIELD_DOCS = {
    "seed": "initial weights, env seeds (rank r uses seed + 1000 r) and action sampling",
    "env.world": "a registered world ({worlds}) or module:WORLD",
    "env.num_envs": "envs per rank (each env holds num_agents robots)",
    "env.overrides": "fields of the world's config (ada worlds NAME), e.g. --model.env.overrides.max_steps 100",
    "ppo.rollout_len": "steps per env per iteration",
    "ppo.gamma": "discount",
    "ppo.gae_lambda": "GAE lambda",
    "ppo.clip_eps": "PPO ratio clip",
    "ppo.value_clip": "value clip range (null: unclipped)",
    "ppo.vf_coef": "value loss weight",
    "ppo.ent_coef": "entropy bonus weight",
    "ppo.epochs": "passes over each rollout",
    "ppo.minibatches": "minibatches per pass (whole sequences)",
    "ppo.max_grad_norm": "gradient norm clip",
    "ppo.lr": "Adam learning rate",
    "ppo.lr_schedule": "constant | linear | cosine (over the run's iterations)",
    "ppo.normalize_advantages": "per-minibatch advantage normalisation",
    "policy.encoder_layers": "MLP layers of the observation encoder",
    "policy.layers": "Transformer-XL blocks",
    "policy.heads": "Transformer-XL attention heads",
    "policy.ff_mult": "Transformer-XL feed-forward width / hidden",
    "curriculum.method": "uniform | sfl | plr | accel",
}


class ConfigError(ValueError):
    """A config file or command-line option that ``ada train`` cannot accept (one line, naming it)."""


class UsageError(ConfigError):
    """``ada train`` called without what it needs to start (the message is the usage text)."""


# ---------------------------------------------------------------------- the field tree
def model_sections() -> dict[str, Any]:
    """``model.*``: section name -> config dataclass (or a plain type for ``seed``)."""
    from curricula import CurriculumConfig
    from models.actor_critic import PolicyConfig

    from .config import EnvConfig, PPOConfig
    from .kickstart import KickstartConfig

    return {"seed": int, "env": EnvConfig, "ppo": PPOConfig, "policy": PolicyConfig, "curriculum": CurriculumConfig,
            "kickstart": KickstartConfig}


def field_comments(cls: type) -> dict[str, str]:
    """``{field: comment}`` from the ``# ...`` after each field in a dataclass's source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out = {}
    for match in re.finditer(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+)$", source, flags=re.M):
        out.setdefault(match.group(1), match.group(2).strip())
    return out


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: no type checks for that class
        return {f.name: Any for f in dataclasses.fields(cls)}


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any"
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:_}"
    return str(value)


# ---------------------------------------------------------------------- help and usage
def example_configs() -> list[tuple[str, str]]:
    """``(path relative to experiments/configs, first comment line)`` of the example configs of this checkout."""
    if not CONFIG_DIR.is_dir():
        return []
    out = []
    for path in sorted(CONFIG_DIR.rglob("*.yaml")):
        first = path.read_text().splitlines()[:1]
        note = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""
        out.append((str(path.relative_to(CONFIG_DIR)), note))
    return out


def _examples_block(width: int = 100) -> list[str]:
    configs = example_configs()
    if not configs:
        return []
    header = f"example configs ({_display_path(CONFIG_DIR)}/; the first line of each says what it runs):"
    names = textwrap.wrap("  ".join(name for name, _ in configs), width - 2, break_on_hyphens=False)
    return [header, *(f"  {line}" for line in names)]


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def usage_text() -> str:
    """What ``ada train`` without ``--config`` prints: the usage line, the example configs and an example."""
    example = _display_path(CONFIG_DIR / "lidarnav_tiny.yaml")
    return "\n".join([
        "ada train: no --config given, so nothing was started.",
        "usage: ada train --config FILE.yaml [--SECTION.FIELD VALUE ...]   (ada train --help lists every field)",
        *_examples_block(),
        f"e.g.:  ada train --config {example} --trainer.default_root_dir runs/try",
    ])


def train_help() -> str:
    """The concise ``ada train --help``: run options, example configs and every model field with its default."""
    from envs_warp.core.world import world_names

    lines = [
        "usage: ada train --config FILE.yaml [--SECTION.FIELD VALUE ...] [--debug]",
        "",
        "Train PPO in a Warp world; one Lightning epoch is one PPO iteration. Any YAML value can be overridden",
        "on the command line. The run folder (trainer.default_root_dir) gets checkpoints/, logs/, tb/ and plots/;",
        "running the same command again resumes from its newest intact checkpoint.",
        "",
        "run options:",
    ]
    run = [("--config FILE", "the experiment YAML (required)"),
           ("--trainer.default_root_dir DIR", "the run folder (default runs/default)"),
           ("--trainer.max_epochs N", "PPO iterations (default: from model.ppo.total_env_steps)"),
           ("--trainer.accelerator A", "cpu | gpu | auto; with --trainer.devices N --trainer.strategy ddp"),
           ("--trainer.enable_progress_bar B", "the run's progress line (default true)")]
    run += [(f"--{name} {tp.__name__.upper()}", f"{doc} (default {_show(default)})")
            for name, (tp, default, doc) in RUN_OPTIONS.items()]
    run += [("--print_config", "print the resolved config and exit"),
            ("--debug", "show the Python traceback of an error"),
            ("--help-all", "every Lightning option (--trainer.*)")]
    lines += [f"  {flag:<34}{doc}" for flag, doc in run]
    lines += ["", *_examples_block(), ""]
    lines.append("model fields (--model.SECTION.FIELD VALUE = default):")
    docs = {k: v.format(worlds=", ".join(world_names())) for k, v in FIELD_DOCS.items()}
    rows: list[tuple[str, str]] = []
    for section, cls in model_sections().items():
        if not dataclasses.is_dataclass(cls):
            rows.append((f"--model.{section} {_type_name(cls)} = {_show(0)}", docs.get(section, "")))
            continue
        rows.append(("", f"{section}: {(cls.__doc__ or '').strip().splitlines()[0].replace('``', '')}"))
        comments, hints = field_comments(cls), _hints(cls)
        if section in COMPACT_SECTIONS:  # its fields on one line (their docs: the dataclass)
            fields = " ".join(f"{f.name}={_show(_default(f))}" for f in dataclasses.fields(cls))
            rows.append((f"--model.{section}.FIELD", fields))
            continue
        for f in dataclasses.fields(cls):
            tp = hints.get(f.name, Any)
            if dataclasses.is_dataclass(tp):  # a nested section: its fields on one line
                nested = " ".join(f"{g.name}={_show(_default(g))}" for g in dataclasses.fields(tp))
                rows.append((f"--model.{section}.{f.name}.FIELD", nested))
                continue
            doc = docs.get(f"{section}.{f.name}") or comments.get(f.name, "")
            rows.append((f"--model.{section}.{f.name} {_type_name(tp)} = {_show(_default(f))}", doc))
    pad = max(len(flag) for flag, _ in rows) + 2
    lines += [f"  {flag:<{pad}}{doc}".rstrip() if flag else f" {doc}" for flag, doc in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------- checks
def split_options(argv: list[str]) -> list[tuple[str, Any]]:
    """``--key value`` / ``--key=value`` / ``-c FILE`` pairs of ``argv`` (values parsed as YAML, like jsonargparse)."""
    pairs: list[tuple[str, Any]] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "-c":
            token = "--config"
        if not token.startswith("--"):
            raise ConfigError(f"unexpected argument {token!r}: options look like --model.ppo.lr 1e-3")
        key, eq, value = token[2:].partition("=")
        if key == "print_config":  # takes an optional =flags only
            pairs.append((key, value))
            i += 1
            continue
        if not eq:
            if i + 1 >= len(argv):
                raise ConfigError(f"--{key} needs a value")
            value = argv[i + 1]
            i += 2
        else:
            i += 1
        pairs.append((key, value if key == "config" else _parse_value(value)))
    return pairs


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def check_train_args(argv: list[str]) -> None:
    """Refuse (:class:`ConfigError`, one line) unknown keys and mistyped values in the YAML files and overrides;
    :class:`UsageError` when no ``--config`` is given."""
    pairs = split_options(argv)
    configs = [value for key, value in pairs if key == "config"]
    if not configs:
        raise UsageError(usage_text())
    for config in configs:
        path = Path(config)
        if not path.is_file():
            names = ", ".join(name for name, _ in example_configs())
            raise ConfigError(f"--config {config}: no such file" + (f" (examples in {_display_path(CONFIG_DIR)}/: "
                                                                   f"{names})" if names else ""))
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"{config}: not valid YAML{at}: {getattr(err, 'problem', None) or err}") from err
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{config}: expected a mapping with trainer:, model: ..., got {type(data).__name__}")
        for key, value in data.items():
            check_key([str(key)], value, config)
    for key, value in pairs:
        if key != "config":
            check_key(key.split("."), value, f"--{key}")


def check_key(path: list[str], value: Any, source: str) -> None:
    """Check one dotted key (``["model", "ppo", "lr"]``) and its value; ``source`` names the file or option."""
    top = path[0]
    known = [*RUN_OPTIONS, *OTHER_TOP_KEYS]
    if top not in known:
        _unknown(source, top, known, "options")
    if top in RUN_OPTIONS:
        tp = RUN_OPTIONS[top][0]
        if len(path) > 1 or not _type_ok(value, tp):
            raise ConfigError(f"{_where(source, top)} expects {tp.__name__}, got {value!r}")
        if tp is int and value < (0 if top == "keep_last" else 1):
            raise ConfigError(f"{_where(source, top)} must be >= {0 if top == 'keep_last' else 1}, got {value}")
    elif top == "trainer":
        _check_trainer(path[1:], value, source)
    elif top == "model":
        _check_model(path[1:], value, source)


def _check_trainer(path: list[str], value: Any, source: str) -> None:
    from lightning.pytorch import Trainer

    params = [p for p in inspect.signature(Trainer.__init__).parameters if p != "self"]
    if not path:
        if value is None or isinstance(value, str):  # a str is a file of Trainer options
            return
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(source, 'trainer')} expects a mapping of Trainer options, got {value!r}")
        for key, sub in value.items():
            _check_trainer([str(key)], sub, source)
        return
    name = path[0].rstrip("+")
    if name not in params:
        _unknown(source, f"trainer.{name}", params, "Trainer options (ada train --help-all)", prefix="trainer.")


def _check_model(path: list[str], value: Any, source: str) -> None:
    sections = model_sections()
    if not path:
        if value is None or isinstance(value, str):  # a str is a file of model options
            return
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(source, 'model')} expects a mapping of {', '.join(sections)}, got {value!r}")
        for key, sub in value.items():
            _check_model([str(key)], sub, source)
        return
    head = path[0]
    if head not in sections:
        _unknown(source, f"model.{head}", list(sections), "model sections", prefix="model.")
    _check_field(sections[head], path[1:], value, source, f"model.{head}")


def _check_field(tp: Any, path: list[str], value: Any, source: str, dotted: str) -> None:
    """``value`` for ``dotted`` of type ``tp``, with ``path`` still to descend into."""
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        if not path:
            if value is None or isinstance(value, str):  # a str is a file of the section's fields
                return
            if not isinstance(value, dict):
                raise ConfigError(f"{_where(source, dotted)} expects a mapping of {tp.__name__} fields, got {value!r}")
            for key, sub in value.items():
                _check_field(tp, [str(key)], sub, source, dotted)
            return
        if path[0] not in hints:
            _unknown(source, f"{dotted}.{path[0]}", list(hints), f"{tp.__name__} fields", prefix=f"{dotted}.")
        _check_field(hints[path[0]], path[1:], value, source, f"{dotted}.{path[0]}")
        return
    if path:
        if _is_dict(tp):  # e.g. env.overrides.num_agents: the world checks its own fields
            return
        raise ConfigError(f"{_where(source, dotted)} is a {_type_name(tp)} value, it has no field {path[0]!r}")
    if not _type_ok(value, tp):
        raise ConfigError(f"{_where(source, dotted)} expects {_type_name(tp)}, got {value!r}")


def _is_dict(tp: Any) -> bool:
    return tp is dict or typing.get_origin(tp) is dict


def _type_ok(value: Any, tp: Any) -> bool:
    """Whether ``value`` (parsed YAML) fits ``tp`` the way jsonargparse would accept it."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, arg) for arg in typing.get_args(tp))
    if tp is type(None):
        return value is None or value in ("None", "none", "null")
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        if isinstance(value, str):
            return re.fullmatch(r"[+-]?\d[\d_]*", value.strip()) is not None
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return False
            return True
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if _is_dict(tp):
        return isinstance(value, dict)
    if origin in (list, tuple) or tp in (list, tuple):
        return isinstance(value, (list, tuple))
    return True


def _where(source: str, dotted: str) -> str:
    """``--model.ppo.lr`` for a command-line option, ``FILE.yaml: model.ppo.lr`` for a key of a config file."""
    return source if source == f"--{dotted}" else f"{source}: {dotted}"


def _unknown(source: str, dotted: str, choices: list[str], what: str, prefix: str = "") -> typing.NoReturn:
    last = dotted.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(last, choices, n=1)
    option = source.startswith("--")
    hint = f" (did you mean {'--' if option else ''}{prefix}{close[0]}?)" if close else ""
    where = f"unknown field --{dotted}" if option else f"{source}: unknown field {dotted}"
    raise ConfigError(f"{where}{hint}; {what}: {', '.join(choices)}")
