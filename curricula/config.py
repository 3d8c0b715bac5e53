"""``CurriculumConfig``: which level sampler a run uses and its settings; ``build_sampler`` makes it."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from .accel import ACCELConfig, ACCELSampler
from .base import LevelSampler
from .noop import NoopFilterConfig
from .plr import PLRConfig, PLRSampler
from .sfl import SFLConfig, SFLSampler
from .stats import TRIAL_SUCCESS
from .uniform import UniformConfig, UniformSampler

METHODS = ("uniform", "sfl", "plr", "accel")


@dataclass
class CurriculumConfig:
    """``method``: ``uniform`` (domain randomisation), ``sfl``, ``plr`` (robust PLR by default) or ``accel``.

    ``trial_success`` (meta-RL trials, ``EnvConfig.trials``): which trials of a K-trial episode make it a
    success for the curriculum: ``last`` (the default: what the agent achieves after adapting), ``first``
    (zero-shot), ``any``, or ``mean`` (the fraction of its trials; a number in [0, 1]). It defines p in
    SFL's p·(1−p) (over ``sfl.trials`` whole episodes per level) and the successes every sampler is told
    (``LevelStats.successes``). Returns are always of the whole episode; with one trial the modes agree.
    """

    method: str = "uniform"
    trial_success: str = "last"  # with trials: which trials make an episode a success: last | first | any | mean
    uniform: UniformConfig = field(default_factory=UniformConfig)
    sfl: SFLConfig = field(default_factory=SFLConfig)
    plr: PLRConfig = field(default_factory=PLRConfig)
    accel: ACCELConfig = field(default_factory=ACCELConfig)
    noop_filter: NoopFilterConfig = field(default_factory=NoopFilterConfig)

    @classmethod
    def from_dict(cls, data: dict) -> "CurriculumConfig":
        """From ``asdict`` output (nested sections as dicts); missing keys take their defaults."""
        sections = {f.name: f.type for f in fields(cls)}
        kinds = {"uniform": UniformConfig, "sfl": SFLConfig, "plr": PLRConfig, "accel": ACCELConfig,
                 "noop_filter": NoopFilterConfig}
        unknown = sorted(set(data) - set(sections))
        if unknown:
            raise ValueError(f"curriculum: unknown field(s) {unknown}")
        return cls(**{k: kinds[k](**v) if k in kinds else v for k, v in data.items()})

    def required_capabilities(self) -> dict[str, str]:
        """``{world capability: why}`` this curriculum asks of the world (checked before training starts)."""
        needs: dict[str, str] = {}
        if self.method != "uniform" or self.noop_filter.enabled:
            needs["levels"] = f"curriculum.method {self.method!r}"
        if self.method == "sfl" or (self.method == "uniform" and self.noop_filter.enabled):
            needs["random_levels"] = f"curriculum.method {self.method!r} (it draws candidate levels)"
        if self.method in ("plr", "accel"):
            needs["levels_from_tags"] = f"curriculum.method {self.method!r} (it stores the random levels it scores)"
        if self.method == "accel":
            needs["mutate"] = "curriculum.method 'accel' (it mutates buffer levels)"
        if self.noop_filter.enabled:
            needs["noop"] = "curriculum.noop_filter"
        return needs

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"curriculum.method must be one of {METHODS}, got {self.method!r}")
        if self.trial_success not in TRIAL_SUCCESS:
            raise ValueError(f"curriculum.trial_success must be one of {TRIAL_SUCCESS}, got {self.trial_success!r}")


def build_sampler(cfg: CurriculumConfig, seed: int = 0) -> LevelSampler | None:
    """The configured sampler; ``None`` when the world's own random levels do the job (plain uniform)."""
    if cfg.method == "uniform":
        return UniformSampler(cfg.uniform, cfg.noop_filter, seed) if cfg.noop_filter.enabled else None
    if cfg.method == "sfl":
        return SFLSampler(cfg.sfl, cfg.noop_filter, seed, trial_success=cfg.trial_success)
    if cfg.method == "plr":
        return PLRSampler(cfg.plr, cfg.noop_filter, seed)
    return ACCELSampler(cfg.plr, cfg.accel, cfg.noop_filter, seed)
