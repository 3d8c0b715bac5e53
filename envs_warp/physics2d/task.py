"""Task stage of the physics2d pipeline (the Kinetix task: green touches blue, avoid red).

Public entries, in step order: ``actions_to_controls`` (the agent's action -> per-channel motor and
thruster controls), then after the physics substeps ``step_outputs`` (reward, episode flags and
shaping state); ``sample_bank_rows`` picks a bank level for every reset row from its (seed, reset
counter) and ``draw_channel_permutation`` the hidden action-channel permutation of an episode from the
same stream. All launch ``(env,)``.
"""
from __future__ import annotations

import warp as wp

from .types import BodyModel, BodyState, TaskParams

wp.set_module_options({"enable_backward": False})

# Action modes of ``actions_to_controls`` (``TaskParams.action_mode``).
ACTION_CONTINUOUS = wp.constant(0)
ACTION_DISCRETE = wp.constant(1)
ACTION_MULTI_DISCRETE = wp.constant(2)


@wp.kernel
def actions_to_controls(
    # Model:
    params: TaskParams,
    # Data in:
    action_int: wp.array2d(dtype=wp.int32),
    action_float: wp.array2d(dtype=float),
    # Data out:
    motor_out: wp.array2d(dtype=float),
    thruster_out: wp.array2d(dtype=float),
):
    """Per-channel controls (motors in [-1, 1], thrusters in [0, 1]) from the agent's action; launch (env,).

    Discrete (Kinetix): ``a < 2M`` drives motor ``a // 2`` backward (even) or forward (odd), ``a == 2M``
    does nothing, ``a > 2M`` fires thruster ``a - 2M - 1``. Multi-discrete: motors 0 off / 1 forward /
    2 backward, thrusters 0 off / 1 on. Continuous: clipped to the channel ranges.
    """
    env = wp.tid()
    M = params.motor_channels
    T = params.thruster_channels
    for c in range(M):
        motor_out[env, c] = 0.0
    for c in range(T):
        thruster_out[env, c] = 0.0
    if params.action_mode == ACTION_DISCRETE:
        a = action_int[env, 0]
        if a < 2 * M:
            motor_out[env, a // 2] = float(2 * (a % 2) - 1)
        elif a > 2 * M and a <= 2 * M + T:
            thruster_out[env, a - 2 * M - 1] = 1.0
    elif params.action_mode == ACTION_MULTI_DISCRETE:
        for c in range(M):
            a = action_int[env, c]
            if a == 1:
                motor_out[env, c] = 1.0
            elif a == 2:
                motor_out[env, c] = -1.0
        for c in range(T):
            if action_int[env, M + c] != 0:
                thruster_out[env, c] = 1.0
    else:
        for c in range(M):
            motor_out[env, c] = wp.clamp(action_float[env, c], -1.0, 1.0)
        for c in range(T):
            thruster_out[env, c] = wp.clamp(action_float[env, M + c], 0.0, 1.0)


@wp.kernel
def sample_bank_rows(
    # Data in:
    rng_seed: wp.array(dtype=wp.int32),
    rng_counter: wp.array(dtype=wp.int32),
    rows: wp.array(dtype=wp.bool),
    bank_size: int,
    # Data out:
    bank_index_out: wp.array(dtype=wp.int32),
):
    """A uniform bank index for every masked row from its (seed, reset counter); launch (env,)."""
    env = wp.tid()
    if rows[env]:
        state = wp.rand_init(rng_seed[env], rng_counter[env])
        bank_index_out[env] = int(wp.randu(state) % wp.uint32(bank_size))


@wp.kernel
def draw_channel_permutation(
    # Data in:
    rng_seed: wp.array(dtype=wp.int32),
    rng_counter: wp.array(dtype=wp.int32),
    rows: wp.array(dtype=wp.bool),
    motor_channels: int,
    thruster_channels: int,
    # Data out:
    perm_out: wp.array2d(dtype=wp.int64),
):
    """A uniform permutation of the motor channels and one of the thruster channels for every masked row; launch (env,).

    ``perm_out[env, c]`` is the actuator channel that action channel ``c`` drives (motors ``0..M-1`` among
    themselves, thrusters ``M..M+T-1`` among themselves). Drawn (Fisher-Yates) from the row's (seed, reset
    counter) stream after the draw ``sample_bank_rows`` takes from it.
    """
    env = wp.tid()
    if not rows[env]:
        return
    state = wp.rand_init(rng_seed[env], rng_counter[env])
    wp.randu(state)  # the bank index's draw
    M = motor_channels
    T = thruster_channels
    for c in range(M + T):
        perm_out[env, c] = wp.int64(c)
    for k in range(M - 1):
        i = M - 1 - k
        j = int(wp.randu(state) % wp.uint32(i + 1))
        swap = perm_out[env, i]
        perm_out[env, i] = perm_out[env, j]
        perm_out[env, j] = swap
    for k in range(T - 1):
        i = M + T - 1 - k
        j = M + int(wp.randu(state) % wp.uint32(i - M + 1))
        swap = perm_out[env, i]
        perm_out[env, i] = perm_out[env, j]
        perm_out[env, j] = swap


@wp.func
def green_blue_distance(model: BodyModel, state: BodyState, env: int) -> float:
    """Sum of centre distances [m] over active (green, blue) body pairs."""
    nb = state.pos.shape[1]
    d = float(0.0)
    for i in range(nb):
        if model.active[env, i] != 0 and model.role[env, i] == 1:
            for k in range(nb):
                if model.active[env, k] != 0 and model.role[env, k] == 2:
                    d += wp.length(state.pos[env, k] - state.pos[env, i])
    return d


@wp.kernel
def step_outputs(
    # Model:
    params: TaskParams,
    model: BodyModel,
    # Data in:
    state: BodyState,
    green_blue: wp.array(dtype=wp.int32),
    green_red: wp.array(dtype=wp.int32),
    # Data out:
    step_count_inout: wp.array(dtype=wp.int32),
    last_distance_inout: wp.array(dtype=float),
    reward_out: wp.array(dtype=float),
    terminated_out: wp.array(dtype=wp.bool),
    truncated_out: wp.array(dtype=wp.bool),
    reached_out: wp.array(dtype=wp.bool),
    crashed_out: wp.array(dtype=wp.bool),
    nonfinite_out: wp.array(dtype=wp.bool),
    nonfinite_count_inout: wp.array(dtype=wp.int32),
):
    """Reward, episode flags and shaping state after a step; launch (env,).

    +1 when green touched blue, -1 when green touched red (red wins a tie), terminating; a
    non-finite state (NaN/inf in any active body's position, rotation or velocity) also terminates,
    with reward 0, ``nonfinite_out`` set and ``nonfinite_count_inout`` (episodes so ended per row,
    never reset) incremented; ``max_steps`` truncates. Dense shaping adds
    ``scale * (previous - current)`` green-blue distance from the second step of an episode on.
    """
    env = wp.tid()
    nb = state.pos.shape[1]
    broken = int(0)
    for i in range(nb):
        if model.active[env, i] != 0:
            p = state.pos[env, i]
            v = state.vel[env, i]
            if not (wp.isfinite(p[0]) and wp.isfinite(p[1]) and wp.isfinite(v[0]) and wp.isfinite(v[1])
                    and wp.isfinite(state.rot[env, i]) and wp.isfinite(state.ang_vel[env, i])):
                broken = 1
    gr = green_red[env] != 0
    gb = green_blue[env] != 0 and not gr
    reward = float(0.0)
    if gr:
        reward = -1.0
    elif gb:
        reward = 1.0
    steps = step_count_inout[env] + 1
    step_count_inout[env] = steps
    terminated = gr or gb or broken != 0
    truncated = (not terminated) and steps >= params.max_steps
    dist = green_blue_distance(model, state, env)
    last = last_distance_inout[env]
    if params.dense_reward_scale != 0.0 and last >= 0.0:
        shaping = (last - dist) * params.dense_reward_scale
        if wp.isfinite(shaping):
            reward += shaping
    if terminated or truncated:
        dist = -1.0
    last_distance_inout[env] = dist
    reward_out[env] = reward
    terminated_out[env] = terminated
    truncated_out[env] = truncated
    reached_out[env] = gb
    crashed_out[env] = gr
    nonfinite_out[env] = broken != 0
    if broken != 0:
        nonfinite_count_inout[env] = nonfinite_count_inout[env] + 1


__all__ = ["ACTION_CONTINUOUS", "ACTION_DISCRETE", "ACTION_MULTI_DISCRETE", "actions_to_controls",
           "draw_channel_permutation", "sample_bank_rows", "step_outputs"]
