"""Launch parameters of the lidar navigation world's kernels: the ``NavParams`` struct (stage: types).

Grid convention: cell ``(x, y)`` is ``walls[env, y, x]`` and covers ``[x, x+1) × [y, y+1)`` cells of
``cell`` metres; anything outside the grid counts as wall. Robots are squares (side ``2·half_side``,
rotated by ``theta``) or circles (``rad``); ``theta`` is the heading [rad] in ``[-π, π)``.
Flags are int32 0/1 so the same arrays are plain torch tensors on both sides.
"""
from __future__ import annotations

import warp as wp

wp.set_module_options({"enable_backward": False})


@wp.struct
class NavParams:
    """Every scalar the world's kernels read, grouped in one launch argument."""

    width: int  # cells along x
    height: int  # cells along y
    cell: float  # [m] cell side
    num_agents: int
    square: int  # 1: square robots, 0: circle robots
    half_side: float  # [m] half the square's side
    rad: float  # [m] robot radius (circle shape, clearance and lidar proximity)
    dt: float  # [s]
    min_v: float  # [m/s]
    max_v: float  # [m/s]
    max_v_acc: float  # [m/s^2]
    max_w: float  # [rad/s]
    max_w_acc: float  # [rad/s^2]
    max_steps: int
    num_beams: int
    max_range: float  # [m]
    angle_span: float  # [rad] beams cover [-span, span] around the heading
    quantise: int  # 1: readings on JaxNav's sample grid
    sample_spacing: float  # [m] spacing of that grid
    num_samples: int
    range_resolution: float  # [m] resolution used for robot hits on that grid
    goal_radius: float  # [m]
    goal_rew: float
    weight_g: float
    dt_rew: float
    coll_rew: float
    lidar_thresh: float  # [m] beyond the robot radius
    lidar_rew: float
    rew_lambda: float
    lim_w: float  # [rad/s]
    weight_w: float
    normalise: int
    # level generation
    fill: float  # max fraction of interior cells filled with walls
    start_pad: float  # start clearance = rad * start_pad
    goal_clear: float  # [m] goal clearance from walls
    min_goal_dist: float  # [m]
    max_goal_dist: float  # [m]
    grid_sample: int  # 1: starts and goals on free cell centres (JaxNav's "grid" sampler)
    solvable_only: int  # 1: regenerate maps until every robot has a grid path to its goal
    hidden_goal: int  # 1: no goal columns in the observation, no progress reward
    pose_obs: int  # 1: the robot's pose (x, y, cos θ, sin θ) after the other columns
    goal_spots: int  # 0: goals anywhere (JaxNav's sampler); 2: the two side spots; 4: the four corner spots
