"""Configuration of the lidar navigation world; the defaults are JaxNav's (``jaxmarl`` 0.2, ``Grid-Rand-Poly``).

Presets: :meth:`LidarNavConfig.jaxnav` is the ``jaxmarl`` 0.2 package defaults (the dataclass
defaults); :meth:`LidarNavConfig.jaxnav_paper` is the environment of the SFL paper's experiments
(Rutherford et al. 2024, "No Regrets"; ``sfl/train/config/env/jaxnav.yaml`` of
``amacrutherford/sampling-for-learnability``): denser clutter, a smaller goal circle and starts/goals
on cell centres; :meth:`LidarNavConfig.hidden_goal_room` is a meta-RL task (not JaxNav's): a small open
room whose goal the robot cannot sense, rewarded only when it finds it, so finding it again in a later
trial of the episode takes memory; :meth:`LidarNavConfig.hidden_goal_sides` is that room with the goal on
one of two fixed spots (``goal_spots``), the task where memory pays and search alone does not.

Hidden goal (``hidden_goal=True``): the observation drops the goal distance and bearing columns
(``obs_dim`` is ``beams + 3``: lidar, (v, w), lambda) and the progress reward (``weight_g``) is not paid,
so neither the observation nor the reward says where the goal is until the robot reaches it (``goal_rew``).
The goal is part of the level, so it stays put across the trials of an episode: a trial restart
(``WarpEnv.restart``) replays the level, start pose and goal both.

Own pose (``pose_obs=True``): four columns after lambda, the robot's position in the map and its heading,
``x / (map_width · cell_size) - 0.5``, ``y / (map_height · cell_size) - 0.5``, ``cos θ``, ``sin θ`` (the
position unnormalised, in metres, when ``normalise_obs`` is off). With the goal hidden this makes
remembering the goal remembering coordinates: where the robot was when the goal reward came.

Goal spots (``goal_spots``): "anywhere" is JaxNav's sampler; "sides" and "corners" put the one robot at the
centre of an open room (random heading) and its goal on one of a few fixed spots, the centres of the first
interior cells in from the walls: on the middle line left or right ("sides", 2 spots) or in the four corners
("corners"). Levels stay data (map, start, goal), so trials replay the same spot and held-out levels come
from the same family under another seed. ACCEL's mutations (``mutations.py``) edit such levels like any other
and do not keep the goal on a spot.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import warp as wp

# JaxNav's discrete action set: (v [m/s], w [rad/s]) targets.
DISCRETE_ACTIONS: tuple[tuple[float, float], ...] = tuple(
    (v, w) for v in (0.0, 0.5, 1.0) for w in (0.5, 0.25, 0.0, -0.25, -0.5)
)

# The fields where the SFL paper's JaxNav environment differs from the jaxmarl 0.2 package defaults
# (sfl/train/config/env/jaxnav.yaml: map_params.fill 0.6, goal_radius 0.3, sample_test_case_type "grid";
# every other value there equals the package default, valid_path_check False included).
PAPER_FIELDS: dict[str, object] = {"fill": 0.6, "goal_radius": 0.3, "sample_test_case_type": "grid"}

# goal_spots values and how many fixed spots each offers (0: anywhere, JaxNav's sampler).
GOAL_SPOTS: dict[str, int] = {"anywhere": 0, "sides": 2, "corners": 4}


@dataclass(frozen=True)
class LidarNavConfig:
    """Every constant of the world: map, robots, dynamics, lidar, reward and level generation."""

    num_agents: int = 1
    map_width: int = 11  # cells, border walls included
    map_height: int = 11
    cell_size: float = 1.0  # [m]
    robot_shape: str = "square"  # "square" (JaxNav Grid-Rand-Poly) or "circle" (Grid-Rand)
    half_side: float = 0.25  # [m] square robots are 0.5 m wide
    rad: float = 0.3  # [m] radius: circle robots, start clearance, lidar proximity
    dt: float = 0.1  # [s]
    min_v: float = 0.0  # [m/s]
    max_v: float = 1.0  # [m/s]
    max_v_acc: float = 1.0  # [m/s^2]
    max_w: float = 0.6  # [rad/s]
    max_w_acc: float = 1.0  # [rad/s^2]
    max_steps: int = 500
    action_type: str = "continuous"  # or "discrete" (15 (v, w) targets)
    lidar_num_beams: int = 200
    lidar_max_range: float = 6.0  # [m]
    lidar_range_resolution: float = 0.05  # [m]
    lidar_angle_factor: float = 1.0  # beams span ±π·factor
    lidar_quantise: bool = True  # readings on JaxNav's sample grid (False: exact ranges)
    normalise_obs: bool = True
    goal_radius: float = 0.5  # [m]
    goal_rew: float = 4.0
    weight_g: float = 0.25  # progress reward per metre
    dt_rew: float = -0.01  # time penalty per step
    coll_rew: float = -4.0
    lidar_thresh: float = 0.1  # [m] beyond rad
    lidar_rew: float = -0.1
    rew_lambda: float = 0.5  # individual vs team-mean reward mixing
    lim_w: float = 0.7  # [rad/s]
    weight_w: float = 0.0
    fill: float = 0.3  # interior clutter: uniform count in [0, floor(fill·interior))
    sample_test_case_type: str = "random"  # "random": JaxNav's continuous sampler; "grid": cell centres
    start_pad: float = 1.5
    goal_clearance: float = 0.3  # [m]
    min_goal_dist: float | None = None  # [m]; None: 1 + rad
    max_goal_dist: float | None = None  # [m]; None: height - 1 - rad
    solvable_only: bool = False  # JaxNav does not check paths; curricula may ask for it
    hidden_goal: bool = False  # no goal distance/bearing in the observation, no progress reward (see the module doc)
    pose_obs: bool = False  # append the robot's own pose (x, y, cos θ, sin θ) to the observation (see the module doc)
    goal_spots: str = "anywhere"  # "anywhere" (JaxNav's sampler) | "sides" | "corners": fixed goal spots (module doc)

    def __post_init__(self) -> None:
        problems = []
        if self.num_agents < 1:
            problems.append(f"num_agents must be >= 1, got {self.num_agents}")
        if self.map_width < 3 or self.map_height < 3:
            problems.append(f"map must be at least 3x3 cells, got {self.map_width}x{self.map_height}")
        if self.robot_shape not in ("square", "circle"):
            problems.append(f"robot_shape must be 'square' or 'circle', got {self.robot_shape!r}")
        if self.action_type not in ("continuous", "discrete"):
            problems.append(f"action_type must be 'continuous' or 'discrete', got {self.action_type!r}")
        if not 0.0 < self.rad < self.cell_size:
            problems.append(f"rad must be in (0, cell_size), got {self.rad}")
        if not 0.0 < self.half_side * math.sqrt(2) < self.cell_size:
            problems.append(f"half_side must keep the robot inside one cell's width, got {self.half_side}")
        if self.dt <= 0 or self.max_steps < 1:
            problems.append("dt must be > 0 and max_steps >= 1")
        if not self.min_v < self.max_v:
            problems.append(f"min_v must be below max_v, got {self.min_v} >= {self.max_v}")
        if self.action_type == "discrete" and self.min_v != 0.0:
            problems.append("discrete actions need min_v == 0")
        if self.lidar_num_beams < 1 or self.lidar_max_range <= 0 or self.lidar_range_resolution <= 0:
            problems.append("lidar needs >= 1 beam, a positive range and a positive resolution")
        if self.sample_test_case_type not in ("random", "grid"):
            problems.append(f"sample_test_case_type must be 'random' or 'grid', got {self.sample_test_case_type!r}")
        inner = (self.map_width - 2) * (self.map_height - 2)
        fewest_free = inner - max(0, math.floor(inner * self.fill) - 1)
        if self.sample_test_case_type == "grid" and fewest_free < self.num_agents + 1:
            problems.append(f"the grid start/goal sampler needs num_agents + 1 free cells; a {self.fill} fill "
                            f"can leave only {fewest_free}")
        if not 0.0 <= self.fill < 1.0:
            problems.append(f"fill must be in [0, 1), got {self.fill}")
        if not 0.0 <= self.rew_lambda <= 1.0:
            problems.append(f"rew_lambda must be in [0, 1], got {self.rew_lambda}")
        if self.goal_spots not in GOAL_SPOTS:
            problems.append(f"goal_spots must be one of {', '.join(GOAL_SPOTS)}, got {self.goal_spots!r}")
        elif self.goal_spots != "anywhere":
            if self.num_agents != 1 or self.fill != 0.0:
                problems.append(f"goal_spots {self.goal_spots!r} needs one robot in an open room (num_agents 1, "
                                f"fill 0), got num_agents {self.num_agents}, fill {self.fill}")
            reach = min(self.map_width, self.map_height) * self.cell_size / 2 - 1.5 * self.cell_size  # [m]
            if reach <= self.goal_radius:
                problems.append(f"goal_spots {self.goal_spots!r}: a {self.map_width}x{self.map_height} map puts the "
                                f"spots {reach:g} m from the start, inside the goal radius {self.goal_radius}")
        if self.goal_dist_range[0] > self.goal_dist_range[1]:
            problems.append(f"min_goal_dist must not exceed max_goal_dist, got {self.goal_dist_range}")
        if problems:
            raise ValueError("LidarNavConfig: " + "; ".join(problems))

    @classmethod
    def jaxnav(cls, num_agents: int = 1, **overrides) -> "LidarNavConfig":
        """JaxNav's defaults (square 0.5 m robots, 11x11 maps, 200 beams, 500 steps) for ``num_agents`` robots."""
        return replace(cls(), num_agents=num_agents, **overrides)

    @classmethod
    def jaxnav_paper(cls, num_agents: int = 1, **overrides) -> "LidarNavConfig":
        """The SFL paper's JaxNav environment: the package defaults with ``PAPER_FIELDS`` (fill 0.6, goal radius 0.3, grid sampler)."""
        return replace(cls(), num_agents=num_agents, **{**PAPER_FIELDS, **overrides})

    @classmethod
    def hidden_goal_room(cls, num_agents: int = 1, **overrides) -> "LidarNavConfig":
        """A small open room (6x6 cells: 4x4 m inside the walls) with the goal hidden, sized for CPU training.

        Discrete actions, 16 exact lidar beams, coarse steps (``dt`` 0.5 s: a half turn takes ~13 steps,
        crossing the room ~8) and 20 steps per trial, too few to sweep the room, so a trial after the goal
        was found pays for remembering it; goal circle 0.6 m; reward 4 for reaching the goal, -1 for
        hitting a wall (which ends the trial), -0.01 per step; no progress or near-wall terms. The adaptation
        experiment adds ``pose_obs=True`` (the robot's own pose, so a found goal can be remembered as coordinates).
        """
        room = dict(hidden_goal=True, map_width=6, map_height=6, fill=0.0, action_type="discrete",
                    lidar_num_beams=16, lidar_max_range=6.0, lidar_quantise=False, dt=0.5, max_steps=20,
                    goal_radius=0.6, weight_g=0.0, lidar_rew=0.0, coll_rew=-1.0)
        return replace(cls(), num_agents=num_agents, **{**room, **overrides})

    @classmethod
    def hidden_goal_sides(cls, num_agents: int = 1, **overrides) -> "LidarNavConfig":
        """:meth:`hidden_goal_room` with the goal on one of two fixed spots, where remembering pays and search does not.

        The robot starts in the middle of the room (random heading, replayed every trial) and its goal is
        1.5 m to the left or the right (``goal_spots="sides"``); it senses its own pose (``pose_obs``). 16
        steps per trial reach either spot from the start but not both (a scripted turn-and-drive reaches the
        goal spot in time from every start, and never after visiting the other spot first; see
        ``tests/lidarnav/test_hidden_goal.py``), so a memory-less policy succeeds about half the time in every
        trial and one that remembers where the reward came, or which side was empty, can succeed every time
        after trial 1.
        """
        sides = dict(goal_spots="sides", pose_obs=True, max_steps=16)
        return cls.hidden_goal_room(num_agents, **{**sides, **overrides})

    @property
    def preset(self) -> str:
        """Which preset this config is apart from ``num_agents`` and ``action_type``: "jaxnav", "jaxnav_paper" or "custom"."""
        mine = replace(self, num_agents=1, action_type="continuous")
        if mine == LidarNavConfig.jaxnav():
            return "jaxnav"
        if mine == LidarNavConfig.jaxnav_paper():
            return "jaxnav_paper"
        return "custom"

    @property
    def goal_dist_range(self) -> tuple[float, float]:
        """Start-to-goal sampling distance bounds [m]."""
        lo = 1.0 + self.rad if self.min_goal_dist is None else self.min_goal_dist
        hi = self.map_height - 1 - self.rad if self.max_goal_dist is None else self.max_goal_dist
        return lo, hi

    @property
    def num_lidar_samples(self) -> int:
        """Number of points on JaxNav's range grid (``int(max_range / resolution)``)."""
        return int(self.lidar_max_range / self.lidar_range_resolution)

    @property
    def obs_dim(self) -> int:
        """Length of one robot's observation: beams, (v, w), goal distance, goal bearing, lambda (no goal columns
        when ``hidden_goal``), then x, y, cos θ, sin θ when ``pose_obs``."""
        return self.lidar_num_beams + (3 if self.hidden_goal else 5) + (4 if self.pose_obs else 0)

    def kernel_params(self) -> "wp.codegen.StructInstance":
        """The ``NavParams`` struct the kernels read."""
        from .params import NavParams

        p = NavParams()
        p.width, p.height, p.cell = self.map_width, self.map_height, self.cell_size
        p.num_agents = self.num_agents
        p.square = int(self.robot_shape == "square")
        p.half_side, p.rad = self.half_side, self.rad
        p.dt, p.min_v, p.max_v, p.max_v_acc = self.dt, self.min_v, self.max_v, self.max_v_acc
        p.max_w, p.max_w_acc, p.max_steps = self.max_w, self.max_w_acc, self.max_steps
        p.num_beams, p.max_range = self.lidar_num_beams, self.lidar_max_range
        p.angle_span = math.pi * self.lidar_angle_factor
        p.quantise = int(self.lidar_quantise)
        p.num_samples = self.num_lidar_samples
        p.sample_spacing = self.lidar_max_range / max(1, self.num_lidar_samples - 1)
        p.range_resolution = self.lidar_range_resolution
        p.goal_radius, p.goal_rew, p.weight_g = self.goal_radius, self.goal_rew, self.weight_g
        p.dt_rew, p.coll_rew = self.dt_rew, self.coll_rew
        p.lidar_thresh, p.lidar_rew, p.rew_lambda = self.lidar_thresh, self.lidar_rew, self.rew_lambda
        p.lim_w, p.weight_w = self.lim_w, self.weight_w
        p.normalise = int(self.normalise_obs)
        p.fill, p.start_pad, p.goal_clear = self.fill, self.start_pad, self.goal_clearance
        p.grid_sample = int(self.sample_test_case_type == "grid")
        p.min_goal_dist, p.max_goal_dist = self.goal_dist_range
        p.solvable_only = int(self.solvable_only)
        p.hidden_goal = int(self.hidden_goal)
        p.pose_obs = int(self.pose_obs)
        p.goal_spots = GOAL_SPOTS[self.goal_spots]
        return p
