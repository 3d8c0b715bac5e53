"""Level samplers (curricula): uniform, SFL (learnability), PLR / robust PLR, ACCEL, and the no-op filter."""
from .accel import ACCELConfig, ACCELSampler
from .base import CurriculumContext, LevelDraw, LevelSampler
from .buffer import LevelBuffer
from .config import METHODS, CurriculumConfig, build_sampler
from .noop import NoopFilterConfig
from .plr import PLRConfig, PLRSampler
from .sfl import SFLConfig, SFLSampler
from .stats import TRIAL_SUCCESS, LevelStats, episode_success
from .uniform import UniformConfig, UniformSampler

__all__ = ["ACCELConfig", "ACCELSampler", "CurriculumConfig", "CurriculumContext", "LevelBuffer", "LevelDraw",
           "LevelSampler", "LevelStats", "METHODS", "NoopFilterConfig", "PLRConfig", "PLRSampler", "SFLConfig",
           "SFLSampler", "TRIAL_SUCCESS", "UniformConfig", "UniformSampler", "build_sampler", "episode_success"]
